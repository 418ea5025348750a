import type { Logger } from '@whitepay/base';
import { aggregateSignatures, fromHex, g2ToEip2537, toHex } from '@whitepay/bls';
import { decodeGroup, signerIndices } from '@whitepay/contracts';
import {
  createLeaderRound,
  type LeaderEvent,
  type LeaderMessage,
  type LeaderState,
  leaderReducer,
  paymentMessage,
  tid as tidOf,
} from '@whitepay/core';
import type { Group } from '@whitepay/peer';
import type { Address, Hex } from 'viem';
import type { ChainView, UpkeepingView } from '../chain/view.js';
import { applyStFault, type Fault } from '../faults.js';
import type { Metrics } from '../metrics.js';
import type { PeerClients } from '../peer/client.js';
import {
  bodyToReply,
  commitReplyToBody,
  type DecodedReply,
  leaderMessageToBody,
  type RoundInfo,
  revealToBody,
  syncReplyToBody,
} from '../peer/messages.js';
import type { StSource } from '../st.js';
import { askMembers, attemptDeadlineMs, type Broadcast, countBroadcast, eventQueue } from './fanout.js';
import type { Follower } from './follower.js';
import { approvalShares, shareVerifier } from './shares.js';
import { FINAL_OUTCOMES, type RoundRecord, type RoundStore } from './store.js';
import type { PaymentClient } from './submit.js';

/** Data of a `rounds` job (jobId = tid): one leader window of one (user, pid). */
export interface RoundJob {
  upkeeping: Address;
  user: Address;
  pid: Address;
  ts: string;
  te: string;
  leaderId: number;
  r: number;
  cycle: string;
}

export interface LeaderDeps {
  keeperId: number;
  chain: ChainView;
  st: StSource;
  store: RoundStore;
  peers: PeerClients;
  follower: Follower;
  payments: PaymentClient;
  metrics: Metrics;
  log: Logger;
  fault: () => Fault;
  /** The peer deadline of a round's first attempt (ms). */
  peerDeadlineMs: number;
  /** Attempt n waits `peerDeadlineMs × growth^(n−1)`, at most `peerDeadlineMaxMs` (`attemptDeadlineMs`). */
  peerDeadlineGrowth: number;
  peerDeadlineMaxMs: number;
  syncDeadlineMs: number;
  maxAttempts: number;
}

export function roundInfoOfJob(job: RoundJob): RoundInfo {
  const base = {
    upkeeping: job.upkeeping,
    user: job.user,
    pid: job.pid,
    ts: BigInt(job.ts),
    te: BigInt(job.te),
    leaderId: job.leaderId,
    r: job.r,
  };
  return { ...base, tid: tidOf(base) };
}

/** The broadcast the state is waiting on (what a resumed round sends again). */
export function currentMessage(s: LeaderState): LeaderMessage | null {
  const { tid, user, pid, ts, te, leaderId, r } = s.config;
  switch (s.phase) {
    case 'committing':
      return { kind: 'commit_request', tid, attempt: s.attempt, user, pid, ts, te, leaderId, r };
    case 'proposing':
      return {
        kind: 'propose',
        tid,
        attempt: s.attempt,
        proposal: s.proposal,
        st: s.proposedSt!,
        median: s.proposal === 2,
      };
    case 'syncing':
      return { kind: 'sync_request', tid, attempt: s.attempt };
    default:
      return null;
  }
}

/** The `pay` signer list and aggregate signature for the approvals of a submitted state. */
export function aggregateApprovals(
  state: LeaderState,
  view: UpkeepingView,
): { signers: number[]; signerIds: number[]; signature: Hex } {
  const signerIds = Object.keys(state.approvals)
    .map(Number)
    .sort((a, b) => a - b);
  const sigs = signerIds.map((id) => fromHex(state.approvals[id]!));
  const signature = toHex(g2ToEip2537(aggregateSignatures(sigs)));
  return { signers: signerIndices(decodeGroup(view.group), signerIds), signerIds, signature };
}

/**
 * Runs (or resumes) one round as its leader: core's `leaderReducer` decides,
 * this function only carries its messages and persists its state.
 *
 * - Every reducer event is followed by a write of the round record, so a
 *   crashed replica's job (BullMQ re-runs stalled jobs) resumes from it: the
 *   pending broadcast is sent again (members answer a repeated request with
 *   the same stored commitment / the same reveal), a submitted round is
 *   submitted again (idempotent by tid at the chain-submitter).
 * - A broadcast goes to every member (the leader's own follower in-process,
 *   the others over gRPC with a deadline); each answer is an event. When all
 *   calls of a broadcast have settled, the phase's timeout event is fed (the
 *   reducer ignores it if the round moved on).
 * - After a full sync (every member pulled the others' records) the leader
 *   recomputes its st over the union and feeds `synced`; commit requests of
 *   later attempts carry `include_peers`.
 */
export async function runLeaderRound(job: RoundJob, d: LeaderDeps): Promise<RoundRecord> {
  const info = roundInfoOfJob(job);
  const log = d.log.child({ tid: info.tid, round: `${info.pid}:${info.ts}-${info.te}` });
  const view = await d.chain.viewAt(info.upkeeping, info.te);
  const chainId = BigInt(await d.chain.chainId());
  const group: Group = {
    upkeeping: view.upkeeping,
    members: new Map(view.members.map((m) => [m.keeperId, m.account])),
  };
  const keys = new Map(view.members.map((m) => [m.keeperId, m.publicKey]));

  let rec = await d.store.getRound(info.tid);
  if (!rec) {
    const state = createLeaderRound({
      user: info.user,
      pid: info.pid,
      ts: info.ts,
      te: info.te,
      leaderId: info.leaderId,
      r: info.r,
      members: view.members.map((m) => m.keeperId),
      threshold: view.threshold,
      maxAttempts: d.maxAttempts,
    });
    const now = Date.now();
    rec = { info, state, synced: false, outcome: 'running', startedAt: now, updatedAt: now };
    await d.store.putRound(rec);
    log.info({ members: state.config.members, threshold: state.config.threshold }, 'round started');
  } else if (FINAL_OUTCOMES.includes(rec.outcome)) {
    return rec;
  } else {
    log.info({ phase: rec.state.phase, attempt: rec.state.attempt }, 'round resumed');
  }

  // Approval shares are verified in batches (`shares.ts`): the reducer reads the verdicts.
  const shares = shareVerifier((from) => keys.get(from));
  const verifySignature = (from: number, st: bigint, signature: Hex): boolean =>
    shares.verdict(from, paymentMessage({ chainId, ...info, st }), signature);

  // ── the event queue: answers arrive concurrently, the reducer runs one event at a time ──
  const { push, next, pending } = eventQueue<LeaderEvent>();

  const ownSt = async (includePeers: boolean) =>
    applyStFault(
      d.fault(),
      await d.st.computeSt({ user: info.user, pid: info.pid, ts: info.ts, te: info.te, includePeers }),
    );

  /** The leader's own follower answers in-process, through the same encoding as a peer's answer. */
  const local = async (msg: LeaderMessage): Promise<DecodedReply> => {
    const me = d.keeperId;
    switch (msg.kind) {
      case 'commit_request':
        return bodyToReply(
          commitReplyToBody(await d.follower.commit(me, info, msg, rec!.synced, view), info),
        );
      case 'propose':
        return bodyToReply(revealToBody(await d.follower.reveal(me, info, msg), info));
      case 'sync_request':
        return bodyToReply(syncReplyToBody(info, msg.attempt, await d.follower.sync(me, info, view)));
    }
  };

  const broadcast = (msg: LeaderMessage) => {
    const counted: Broadcast =
      msg.kind === 'commit_request'
        ? { phase: 'commit', attempt: msg.attempt, synced: rec!.synced }
        : msg.kind === 'propose'
          ? { phase: 'propose', median: msg.median }
          : { phase: 'sync' };
    countBroadcast(d.metrics, counted);
    const body = leaderMessageToBody(msg, info, rec!.synced);
    const deadline =
      msg.kind === 'sync_request'
        ? d.syncDeadlineMs
        : attemptDeadlineMs(d.peerDeadlineMs, msg.attempt, d.peerDeadlineGrowth, d.peerDeadlineMaxMs);
    void askMembers({
      members: rec!.state.config.members,
      self: d.keeperId,
      local: () => local(msg),
      remote: async (m) => bodyToReply(await d.peers.round(m, group, body, deadline)),
      answer: (from, reply) => push({ ...reply, from }),
      phase: counted.phase,
      metrics: d.metrics,
      log,
    }).then(async () => {
      switch (msg.kind) {
        case 'commit_request':
          push({ type: 'timeout', attempt: msg.attempt, phase: 'committing' });
          return;
        case 'propose':
          push({ type: 'timeout', attempt: msg.attempt, phase: 'proposing', proposal: msg.proposal });
          return;
        case 'sync_request':
          try {
            const st = await ownSt(true);
            rec = { ...rec!, synced: true };
            push({ type: 'synced', st });
          } catch (err) {
            log.warn({ err }, 'own st after the full sync unavailable');
            push({ type: 'timeout', attempt: msg.attempt, phase: 'syncing' });
          }
      }
    });
  };

  // ── start or resume ──
  if (rec.state.phase === 'idle') {
    push({ type: 'start', st: await ownSt(false) });
  } else {
    const pending = currentMessage(rec.state);
    if (pending) broadcast(pending);
  }

  while (rec.state.phase !== 'submitted' && rec.state.phase !== 'failed') {
    const event = await next();
    const s = rec.state;
    if (event.type === 'reveal' && s.phase === 'proposing' && s.proposedSt !== null) {
      const queued = approvalShares([event, ...pending()], s.attempt, s.proposal);
      await shares.prepare(paymentMessage({ chainId, ...info, st: s.proposedSt }), queued);
    }
    const step = leaderReducer(rec.state, event, { verifySignature });
    rec = { ...rec, state: step.state, updatedAt: Date.now() };
    await d.store.putRound(rec);
    for (const out of step.outputs) {
      switch (out.type) {
        case 'broadcast':
          log.debug({ kind: out.msg.kind, attempt: out.msg.attempt }, 'broadcast');
          broadcast(out.msg);
          break;
        case 'full_sync':
          log.info({ attempt: out.attempt }, 'no quorum: full sync');
          break;
        case 'rejected':
          d.metrics.rejected.inc({ boundary: 'round', reason: out.reason });
          log.debug({ member: out.from, reason: out.reason }, 'answer rejected');
          break;
        case 'failed':
          log.warn({ reason: out.reason, attempt: rec.state.attempt }, 'round failed');
          break;
        case 'submit':
          log.info({ st: String(out.st), signers: out.signers }, 'quorum reached');
          break;
      }
    }
  }

  if (rec.state.phase === 'failed') {
    rec = {
      ...rec,
      outcome: 'failed',
      finishedAt: Date.now(),
      error: { code: 'ROUND_NO_QUORUM', message: 'no quorum' },
    };
    await d.store.putRound(rec);
    d.metrics.rounds.inc({ outcome: 'failed', phase: 'failed' });
    return rec;
  }

  const { signers, signature } = aggregateApprovals(rec.state, view);
  rec = { ...rec, outcome: 'submitting', updatedAt: Date.now() };
  await d.store.putRound(rec);
  const result = await d.payments.submitAndWait({
    upkeeping: info.upkeeping,
    pid: info.pid,
    ts: info.ts.toString(),
    te: info.te.toString(),
    st: rec.state.proposedSt!.toString(),
    leaderId: info.leaderId,
    r: info.r,
    group: view.group,
    signers,
    signature,
    tid: info.tid,
  });
  const finishedAt = Date.now();
  rec = {
    ...rec,
    outcome: result.status,
    finishedAt,
    updatedAt: finishedAt,
    ...(result.txHash ? { txHash: result.txHash } : {}),
    ...(result.amount ? { amount: result.amount } : {}),
    ...(result.errorCode ? { error: { code: result.errorCode, message: result.status } } : {}),
  };
  await d.store.putRound(rec);
  d.metrics.rounds.inc({ outcome: result.status, phase: 'submitted' });
  if (result.status === 'confirmed') d.metrics.roundDuration.observe((finishedAt - rec.startedAt) / 1000);
  log.info(
    { outcome: result.status, txHash: result.txHash, ms: finishedAt - rec.startedAt },
    'round finished',
  );
  return rec;
}
