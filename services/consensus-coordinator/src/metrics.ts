import { Counter, Gauge, Histogram, type Registry, rejectedCounter } from '@whitepay/base';
import { blsBackend } from '@whitepay/bls';

/** Every metric of the coordinator, registered once per app on its registry. */
export function createMetrics(registry: Registry) {
  const registers = [registry];
  const blsBackendInfo = new Gauge({
    name: 'whitepay_bls_backend_info',
    help: 'The BLS backend of this process (1 for the one in use): blst (native) or noble (pure JavaScript, the fallback)',
    labelNames: ['backend'] as const,
    registers,
  });
  blsBackendInfo.set({ backend: blsBackend() }, 1);
  return {
    blsBackendInfo,
    rounds: new Counter({
      name: 'whitepay_rounds_total',
      help: 'Rounds this keeper led, by outcome (confirmed, reverted, rejected, failed) and the phase they ended in',
      labelNames: ['outcome', 'phase'] as const,
      registers,
    }),
    roundDuration: new Histogram({
      name: 'whitepay_round_duration_seconds',
      help: 'Leader start to payment receipt, for confirmed rounds',
      buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    }),
    roundsStarted: new Counter({
      name: 'whitepay_rounds_started_total',
      help: 'Rounds claimed by the election (one per leader window)',
      registers,
    }),
    providerOverdue: new Gauge({
      name: 'whitepay_provider_overdue_blocks',
      help: "Blocks a provider's running interval is past the end of its first cycle of leader slots (ts + H + n*T): every keeper's slot passed without a payment. A series exists only while it is overdue",
      labelNames: ['upkeeping', 'pid'] as const,
      registers,
    }),
    roundsRunning: new Gauge({
      name: 'whitepay_rounds_running',
      help: 'Rounds running in this replica',
      registers,
    }),
    attempts: new Counter({
      name: 'whitepay_round_attempts_total',
      help: 'Commit requests broadcast by this leader, by kind (first, retry, after_sync)',
      labelNames: ['kind'] as const,
      registers,
    }),
    proposals: new Counter({
      name: 'whitepay_round_proposals_total',
      help: 'Proposals broadcast, by kind (own, median)',
      labelNames: ['kind'] as const,
      registers,
    }),
    replies: new Counter({
      name: 'whitepay_round_replies_total',
      help: 'Answers to this leader`s broadcasts (its own included), by phase (commit, propose, sync), outcome (answered, refused, no_answer) and code (the refusal`s or the failed call`s)',
      labelNames: ['phase', 'outcome', 'code'] as const,
      registers,
    }),
    fullSyncs: new Counter({
      name: 'whitepay_round_full_syncs_total',
      help: 'Full syncs requested',
      registers,
    }),
    electionBlocks: new Counter({
      name: 'whitepay_election_blocks_total',
      help: 'election-check jobs processed, by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
    forwarded: new Counter({
      name: 'whitepay_peer_records_forwarded_total',
      help: 'Own records pushed to peers, by outcome (accepted, duplicate, rejected by the peer`s store, refused, unreachable, given_up)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    pushes: new Counter({
      name: 'whitepay_peer_record_pushes_total',
      help: 'PushRecords calls of the record broadcast, by peer and outcome (answered, refused, deadline_exceeded, unavailable)',
      labelNames: ['peer', 'outcome'] as const,
      registers,
    }),
    pushWindow: new Gauge({
      name: 'whitepay_peer_record_push_window',
      help: 'Most records the next PushRecords to a peer carries (AIMD: halved when a push passes its deadline, grown back after each answered one)',
      labelNames: ['peer'] as const,
      registers,
    }),
    broadcastLag: new Gauge({
      name: 'whitepay_peer_broadcast_lag_blocks',
      help: 'Head block minus the block of the oldest own record a peer has not answered yet (as this replica sees it), 0 when none is pending',
      labelNames: ['peer'] as const,
      registers,
    }),
    peerOutPending: new Gauge({
      name: 'whitepay_peer_out_pending_messages',
      help: 'Messages of <NS>_PEER_OUT on the forwarder`s consumer not yet delivered (kind=pending) or delivered and not acked (kind=ack_pending)',
      labelNames: ['kind'] as const,
      registers,
    }),
    idleCounted: new Counter({
      name: 'whitepay_keeper_idle_entries_total',
      help: 'Entries of proposals this keeper answered that count a keeper idle (SPEC 3 item 5: not paid its share), by that keeper, whether it is this keeper (self) and whether this keeper signed (signed)',
      labelNames: ['keeper', 'self', 'signed'] as const,
      registers,
    }),
    idleLastTe: new Gauge({
      name: 'whitepay_keeper_idle_last_te',
      help: 'The te of the latest interval a proposal this keeper answered counted a keeper idle, by keeper, self and signed',
      labelNames: ['keeper', 'self', 'signed'] as const,
      registers,
    }),
    /** Rejected peer messages: `boundary` is `grpc:<method>` (follower side) or `round` (the leader's reducer). */
    rejected: rejectedCounter(registry),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
