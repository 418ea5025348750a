import { Counter, Histogram, type Registry, rejectedCounter } from '@whitepay/base';

export interface Metrics {
  /** Latency of one query, by operation (compute_st, compute_st_batch, audit_group) and engine. */
  seconds: Histogram<'op' | 'engine'>;
  /** Queries by operation and outcome (`ok` or the error code). */
  queries: Counter<'op' | 'outcome'>;
  rejected: Counter<'boundary' | 'reason'>;
  /** Entries per `ComputeStBatch`. */
  batchEntries: Histogram;
  /**
   * Settle waits that ran out with records still missing, by rule (`own`: ingest behind; `peer`: a
   * peer's broadcast behind) and bound (`wait`: the configured length; `deadline`: half the caller's
   * deadline was used up first).
   */
  settleTimeouts: Counter<'rule' | 'bound'>;
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
    settleTimeouts: new Counter({
      name: 'whitepay_st_settle_timeouts_total',
      help: 'settle waits that ran out with records still missing, by rule (own: ingest, peer: broadcast) and bound (wait: its configured length, deadline: half the caller deadline)',
      labelNames: ['rule', 'bound'],
      registers: [registry],
    }),
  };
}
