import { Counter, Gauge, type Registry, rejectedCounter } from '@whitepay/base';

/** Every metric of the chain-submitter, registered once per app on its registry. */
export function createMetrics(registry: Registry) {
  const registers = [registry];
  return {
    chainHead: new Gauge({ name: 'whitepay_chain_head', help: 'Latest block number seen', registers }),
    lastPublished: new Gauge({
      name: 'whitepay_chain_last_published_block',
      help: 'Last block published on <ns>.blocks',
      registers,
    }),
    blocksPublished: new Counter({
      name: 'whitepay_blocks_published_total',
      help: 'Block headers published (re-publications after a reorg included)',
      registers,
    }),
    reorgs: new Counter({ name: 'whitepay_chain_reorgs_total', help: 'Reorganisations detected', registers }),
    reorgDepth: new Gauge({
      name: 'whitepay_chain_last_reorg_depth',
      help: 'Published blocks dropped by the last reorganisation',
      registers,
    }),
    followerErrors: new Counter({
      name: 'whitepay_chain_follower_errors_total',
      help: 'Follower ticks that failed, by code',
      labelNames: ['code'] as const,
      registers,
    }),
    payments: new Counter({
      name: 'whitepay_payments_total',
      help: 'Payment submissions by final status',
      labelNames: ['status'] as const,
      registers,
    }),
    gasSpent: new Counter({
      name: 'whitepay_gas_spent_wei_total',
      help: 'Wei spent on gas by mined transactions',
      registers,
    }),
    feesEarned: new Counter({
      name: 'whitepay_fees_earned_wei_total',
      help: 'Wei this keeper earned from the confirmed payments of its groups since start (PaymentMade: its keeper share unless excluded or idle, the bonus when it led and was not idle); a float, exact below 2^53 wei',
      registers,
    }),
    countedIdle: new Counter({
      name: 'whitepay_payments_counted_idle_total',
      help: 'Confirmed payments of its groups since start whose idle set names this keeper (SPEC 3 item 5: no share for that entry; no other keeper held a verified record of it for the interval)',
      registers,
    }),
    countedIdleLastTe: new Gauge({
      name: 'whitepay_counted_idle_last_te',
      help: 'The te of the latest confirmed payment that counted this keeper idle',
      registers,
    }),
    walletBalance: new Gauge({
      name: 'whitepay_wallet_balance_wei',
      help: 'Balance of the keeper account (wei; float, may round)',
      registers,
    }),
    txSent: new Counter({
      name: 'whitepay_tx_broadcasts_total',
      help: 'Raw transactions broadcast, by kind (first, bump, rebroadcast)',
      labelNames: ['kind'] as const,
      registers,
    }),
    lockHeld: new Gauge({
      name: 'whitepay_sender_lock_held',
      help: '1 while this replica holds the sender lock of the keeper account',
      registers,
    }),
    outboxPending: new Gauge({
      name: 'whitepay_outbox_pending',
      help: 'Submissions not final yet',
      registers,
    }),
    upkeepings: new Gauge({
      name: 'whitepay_upkeepings_discovered',
      help: 'Upkeeping contracts known',
      registers,
    }),
    rejected: rejectedCounter(registry),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
