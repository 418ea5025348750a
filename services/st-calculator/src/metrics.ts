import { Counter, Histogram, type Registry, rejectedCounter } from '@whitepay/base';

export interface Metrics {
  /** Latency of one query, by operation (compute_st, compute_st_batch, audit_group) and engine. */
  seconds: Histogram<'op' | 'engine'>;
  /** Queries by operation and outcome (`ok` or the error code). */
  queries: Counter<'op' | 'outcome'>;
  rejected: Counter<'boundary' | 'reason'>;
  /** Entries per `ComputeStBatch`. */
  batchEntries: Histogram;
  /** `ListVouches` calls whose peer settle wait ran out (a peer's broadcast behind). */
  peerSettleTimeouts: Counter;
}

export function createMetrics(registry: Registry): Metrics {
  return {
    seconds: new Histogram({
      name: 'whitepay_st_query_seconds',
      help: 'Time to answer one st query (database included), by op and engine',
      labelNames: ['op', 'engine'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    queries: new Counter({
      name: 'whitepay_st_queries_total',
      help: 'st queries by op and outcome (ok, or the error code)',
      labelNames: ['op', 'outcome'],
      registers: [registry],
    }),
    rejected: rejectedCounter(registry),
    batchEntries: new Histogram({
      name: 'whitepay_st_batch_entries',
      help: 'Entries per ComputeStBatch query',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2000],
      registers: [registry],
    }),
    peerSettleTimeouts: new Counter({
      name: 'whitepay_st_peer_settle_timeouts_total',
      help: "ListVouches calls that stopped waiting for peers' records of the interval's last blocks",
      registers: [registry],
    }),
  };
}
