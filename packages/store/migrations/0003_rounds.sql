-- Round commitments (SPEC 6 step 1): one per (tid, keeper). st and nonce are
-- known at once for our own commitment and after the reveal for a peer's.
CREATE TABLE commitments (
  tid         bytea   NOT NULL CHECK (length(tid) = 32),
  keeper_id   bigint  NOT NULL CHECK (keeper_id >= 0 AND keeper_id <= 4294967295),
  commitment  bytea   NOT NULL CHECK (length(commitment) = 32),
  st          numeric(78, 0) NULL CHECK (st IS NULL OR st >= 0),
  nonce       bytea   NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revealed_at timestamptz NULL,
  PRIMARY KEY (tid, keeper_id)
);

-- Payments observed on chain (Upkeeping `pay`), one per (user, pid, ts): the
-- contract accepts exactly one payment starting at ts. A reorg that moves it
-- to another transaction or block updates the row.
CREATE TABLE payments_seen (
  user_addr  bytea   NOT NULL CHECK (length(user_addr) = 20),
  pid        bytea   NOT NULL CHECK (length(pid) = 20),
  ts         bigint  NOT NULL CHECK (ts >= 0),
  te         bigint  NOT NULL CHECK (te > ts),
  st         numeric(78, 0) NOT NULL CHECK (st >= 0),
  amount     numeric(78, 0) NOT NULL CHECK (amount >= 0),
  tid        bytea   NOT NULL CHECK (length(tid) = 32),
  tx_hash    bytea   NOT NULL CHECK (length(tx_hash) = 32),
  block      bigint  NOT NULL CHECK (block >= 0),
  seen_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_addr, pid, ts)
);
CREATE INDEX payments_seen_te ON payments_seen (user_addr, pid, te DESC);
