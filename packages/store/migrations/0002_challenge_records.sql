-- This keeper's own verified challenge records (SPEC 3, 4). Partitioned by
-- RANGE(block): partitions of 1,000,000 blocks are created on demand by the
-- store (challenge_records_p<N> holds [N*1e6, (N+1)*1e6)); the default
-- partition only catches rows written before their partition exists, and the
-- store moves them when it creates that partition.
-- The unique key (user, pid, block, keeper) makes inserts idempotent and is
-- also the index of range queries by (user, pid, block).
CREATE TABLE challenge_records (
  user_addr   bytea    NOT NULL CHECK (length(user_addr) = 20),
  pid         bytea    NOT NULL CHECK (length(pid) = 20),
  keeper_id   bigint   NOT NULL CHECK (keeper_id >= 0 AND keeper_id <= 4294967295),
  block       bigint   NOT NULL CHECK (block >= 0),
  block_hash  bytea    NOT NULL CHECK (length(block_hash) = 32),
  space       bigint   NOT NULL CHECK (space >= 0),
  verdict     smallint NOT NULL,
  -- ChallengeProof (protobuf bytes); NULL once compacted or when there was no answer.
  proof       bytea    NULL,
  observed_at timestamptz NOT NULL,
  CONSTRAINT challenge_records_key UNIQUE (user_addr, pid, block, keeper_id)
) PARTITION BY RANGE (block);
CREATE TABLE challenge_records_default PARTITION OF challenge_records DEFAULT;

-- Records received from peer keepers, re-verified before insert, kept apart
-- from our own (they enter st only through the full sync of SPEC 6).
CREATE TABLE peer_records (
  user_addr   bytea    NOT NULL CHECK (length(user_addr) = 20),
  pid         bytea    NOT NULL CHECK (length(pid) = 20),
  keeper_id   bigint   NOT NULL CHECK (keeper_id >= 0 AND keeper_id <= 4294967295),
  block       bigint   NOT NULL CHECK (block >= 0),
  block_hash  bytea    NOT NULL CHECK (length(block_hash) = 32),
  space       bigint   NOT NULL CHECK (space >= 0),
  verdict     smallint NOT NULL,
  proof       bytea    NULL,
  observed_at timestamptz NOT NULL,
  -- The peer keeper's EIP-191 signature over the record.
  signature   bytea    NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT peer_records_key UNIQUE (user_addr, pid, block, keeper_id)
) PARTITION BY RANGE (block);
CREATE TABLE peer_records_default PARTITION OF peer_records DEFAULT;
