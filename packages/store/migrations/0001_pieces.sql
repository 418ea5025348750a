-- Pieces of a user's data held by a provider, registered by the user (SPEC 3).
-- A piece counts from added_block; removal sets removed_block (it stops
-- counting from that block). Re-registering a removed piece adds a new row,
-- so the history of every piece is kept.
CREATE TABLE pieces (
  id            bigserial PRIMARY KEY,
  user_addr     bytea    NOT NULL CHECK (length(user_addr) = 20),
  pid           bytea    NOT NULL CHECK (length(pid) = 20),
  piece_id      bytea    NOT NULL CHECK (length(piece_id) = 32),
  size          bigint   NOT NULL CHECK (size > 0),
  root          bytea    NOT NULL CHECK (length(root) = 32),
  leaf_size     integer  NOT NULL CHECK (leaf_size > 0),
  added_block   bigint   NOT NULL CHECK (added_block >= 0),
  removed_block bigint   NULL CHECK (removed_block IS NULL OR removed_block >= added_block),
  created_at    timestamptz NOT NULL DEFAULT now()
);
-- At most one live registration of a piece per account.
CREATE UNIQUE INDEX pieces_live ON pieces (user_addr, pid, piece_id) WHERE removed_block IS NULL;
CREATE INDEX pieces_account ON pieces (user_addr, pid, added_block);

-- Signed registration requests already applied, per user: a request is
-- accepted once (replay protection by the user's nonce).
CREATE TABLE piece_requests (
  user_addr   bytea    NOT NULL CHECK (length(user_addr) = 20),
  nonce       bigint   NOT NULL CHECK (nonce >= 0),
  op          smallint NOT NULL,
  digest      bytea    NOT NULL CHECK (length(digest) = 32),
  applied_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_addr, nonce)
);
