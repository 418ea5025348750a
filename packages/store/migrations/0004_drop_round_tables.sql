-- `commitments` and `payments_seen` (0003) are dropped: no service ever wrote
-- them. Rounds keep their commitments and reveals in the coordinator's Redis
-- (round state, resumed after a crash); payments are read from the contract
-- (`lastPayment`) and the chain-submitter's outbox. The keeper database holds
-- pieces, piece requests, challenge records and peer records only.
DROP TABLE IF EXISTS commitments;
DROP TABLE IF EXISTS payments_seen;
