import { Counter, Gauge, Histogram, type Registry, rejectedCounter } from '@whitepay/base';

export interface Metrics {
  ingested: Counter<'result'>;
  batchSize: Histogram;
  batchSeconds: Histogram;
  pending: Gauge<'kind'>;
  lastBlock: Gauge;
  chainHead: Gauge;
  blockLag: Gauge;
  writeRetries: Counter;
  rejected: Counter<'boundary' | 'reason'>;
}

export function createMetrics(registry: Registry): Metrics {
  return {
    ingested: new Counter({
      name: 'whitepay_store_ingested_records_total',
      help: 'Records consumed from the records stream, by result (inserted, duplicate)',
      labelNames: ['result'],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'whitepay_store_ingest_batch_size',
      help: 'Records per ingest transaction',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'whitepay_store_ingest_batch_seconds',
      help: 'Time to write one batch (decode excluded)',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    pending: new Gauge({
      name: 'whitepay_store_ingest_pending_messages',
      help: 'Ingest lag in messages: not yet delivered (kind=pending) or delivered and not acked (kind=ack_pending)',
      labelNames: ['kind'],
      registers: [registry],
    }),
    lastBlock: new Gauge({
      name: 'whitepay_store_last_ingested_block',
      help: 'Highest block of a record written by this replica',
      registers: [registry],
    }),
    chainHead: new Gauge({
      name: 'whitepay_store_chain_head_block',
      help: 'Latest block announced on <ns>.blocks',
      registers: [registry],
    }),
    blockLag: new Gauge({
      name: 'whitepay_store_ingest_block_lag',
      help: 'Chain head minus the highest ingested record block',
      registers: [registry],
    }),
    writeRetries: new Counter({
      name: 'whitepay_store_ingest_write_retries_total',
      help: 'Batch writes retried after the database was unavailable',
      registers: [registry],
    }),
    rejected: rejectedCounter(registry),
  };
}
