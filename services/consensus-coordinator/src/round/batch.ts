import { randomBytes } from 'node:crypto';
import type { Logger } from '@whitepay/base';
import { aggregateSignatures, fromHex, g2ToEip2537, sign, toHex } from '@whitepay/bls';
import { decodeGroup, signerIndices } from '@whitepay/contracts';
import {
  type BatchCommitReply,
  type BatchCommitRequest,
  type BatchItem,
  type BatchLeaderEvent,
  type BatchLeaderMessage,
  type BatchLeaderState,
  type BatchProposal,
  type BatchRevealReply,
  batchEntriesOf,
  batchFollowerCommit,
  batchFollowerRespond,
  batchId,
  batchLeaderReducer,
  batchPaymentMessage,
  createBatchLeaderRound,
  encodeBatchEntries,
  leaderAt,
} from '@whitepay/core';
import type { Group } from '@whitepay/peer';
import { type Address, bytesToHex, type Hex, hexToBytes, stringToBytes } from 'viem';
import { type ChainView, nextTsOf, type UpkeepingView } from '../chain/view.js';
import { CoordinatorError } from '../errors.js';
import { applyDelayFault, applyStFault, type Fault } from '../faults.js';
import type { Metrics } from '../metrics.js';
import {
  type BatchInfo,
  batchCommitReplyToBody,
  batchLeaderMessageToBody,
  batchRevealToBody,
  batchSyncReplyToBody,
  bodyToBatchReply,
  type DecodedBatchReply,
  sameBatch,
} from '../peer/batch-messages.js';
import type { PeerClients } from '../peer/client.js';
import type { RoundInfo } from '../peer/messages.js';
import type { RecordStore } from '../records.js';
import type { StSource } from '../st.js';
import { askMembers, attemptDeadlineMs, type Broadcast, countBroadcast, eventQueue } from './fanout.js';
import type { SettlementReader } from './settlement.js';
import { approvalShares, shareVerifier } from './shares.js';
import { type BatchRecord, FINAL_OUTCOMES, type RoundStore } from './store.js';
import type { PaymentClient } from './submit.js';

/** Data of a `batch-rounds` job (jobId = batch id): one batch of one Upkeeping, one leader, one position. */
export interface BatchJob {
  upkeeping: Address;
  user: Address;
  leaderId: number;
  r: number;
  /** Entries in order (integers as decimal strings). */
  items: Array<{ pid: Address; ts: string; te: string; cycle: string }>;
  /** The value of the window claims of every entry (released together when the batch fails). */
  claim: Hex;
}

export function batchItemsOfJob(job: BatchJob): BatchItem[] {
  return job.items.map((it) => ({ pid: it.pid, ts: BigInt(it.ts), te: BigInt(it.te) }));
}

export function batchInfoOfJob(job: BatchJob): BatchInfo {
  return {
    upkeeping: job.upkeeping,
    user: job.user,
    leaderId: job.leaderId,
    r: job.r,
    bid: batchId({ user: job.user, leaderId: job.leaderId, r: job.r, items: batchItemsOfJob(job) }),
  };
}

/** A per-entry `RoundInfo` (tid = the batch id) for the record exchange of a full sync. */
function entryInfo(info: BatchInfo, it: BatchItem): RoundInfo {
  return {
    upkeeping: info.upkeeping,
    tid: info.bid,
    user: info.user,
    pid: it.pid,
    ts: it.ts,
    te: it.te,
    leaderId: info.leaderId,
    r: info.r,
  };
}

export interface BatchFollowerDeps {
  keeperId: number;
  chain: ChainView;
  st: StSource;
  store: RoundStore;
  records: RecordStore | null;
  blsSecretKey: Uint8Array;
  tolBps: bigint;
  fault: () => Fault;
  log: Logger;
  pullFromPeers: (
    info: RoundInfo,
    view: UpkeepingView,
  ) => Promise<import('@whitepay/proto').challengeV1.SignedRecord[]>;
}

/**
 * A member's side of a batch round: the checks of a single round for every
 * entry (each provider's next ts, te mined, the sender leads every entry at
 * the batch's position), its st per entry from the st-calculator, then core's
 * `batchFollowerCommit` / `batchFollowerRespond` (approve only if every entry
 * is within tolerance; the signature is over `batchPaymentMessage`).
 */
export class BatchFollower {
  constructor(private readonly d: BatchFollowerDeps) {}

  private async checkLeader(from: number, info: BatchInfo, msg: BatchCommitRequest, view: UpkeepingView) {
    const items = msg.items;
    if (
      batchId({ user: info.user, leaderId: info.leaderId, r: info.r, items }).toLowerCase() !==
      info.bid.toLowerCase()
    ) {
      throw new CoordinatorError('ROUND_MISMATCH', 'batch id does not match the batch it names');
    }
    if (from !== info.leaderId) {
      throw new CoordinatorError('ROUND_NOT_LEADER', `keeper ${from} sent a batch led by ${info.leaderId}`);
    }
    if (view.user.toLowerCase() !== info.user.toLowerCase()) {
      throw new CoordinatorError('ROUND_MISMATCH', `user ${info.user} does not own ${info.upkeeping}`);
    }
    let v = view;
    const nextTs = (pid: Address) => nextTsOf(v, pid);
    if (items.some((it) => nextTs(it.pid) !== it.ts)) v = await this.d.chain.current(info.upkeeping, true);
    let head = await this.d.chain.headBlock(250);
    for (const it of items) {
      const ts = nextTs(it.pid);
      if (ts === undefined)
        throw new CoordinatorError('ROUND_UNKNOWN_ACCOUNT', `${it.pid} is not an active provider`);
      if (ts !== it.ts) {
        throw new CoordinatorError('ROUND_STALE_TS', `ts ${it.ts} of ${it.pid} is not its next ts ${ts}`);
      }
      if (it.te > head) head = await this.d.chain.headBlock(0);
      if (it.te > head) throw new CoordinatorError('ROUND_TE_AHEAD', `te ${it.te} is after our head ${head}`);
      const slot = leaderAt(
        {
          user: info.user,
          pid: it.pid,
          ts: it.ts,
          keepers: v.members.map((m) => m.keeperId),
          H: v.H,
          T: v.T,
        },
        it.te,
      );
      if (!slot || slot.keeperId !== from || slot.position !== info.r) {
        throw new CoordinatorError(
          'ROUND_NOT_LEADER',
          `keeper ${from} does not lead ${it.pid} at te ${it.te} (leader ${slot?.keeperId ?? 'none'})`,
          { details: { leader: slot?.keeperId ?? null } },
        );
      }
    }
  }

  async commit(
    from: number,
    info: BatchInfo,
    msg: BatchCommitRequest,
    includePeers: boolean,
    view: UpkeepingView,
  ): Promise<BatchCommitReply> {
    const existing = await this.d.store.getBatchCommit(info.bid, msg.attempt);
    if (existing) {
      if (!sameBatch(existing.info, info))
        throw new CoordinatorError('ROUND_MISMATCH', 'another batch under this id');
      return batchFollowerCommit(msg, existing.sts, existing.nonce);
    }
    await this.checkLeader(from, info, msg, view);
    await applyDelayFault(this.d.fault());
    const own = await this.d.st.computeStBatch({ user: info.user, entries: msg.items, includePeers });
    const fault = this.d.fault();
    const sts = own.map((st) => applyStFault(fault, st));
    const nonce = bytesToHex(randomBytes(32));
    const stored = await this.d.store.putBatchCommit(
      { info, items: msg.items, sts, nonce, includePeers },
      msg.attempt,
    );
    this.d.log.debug(
      { bid: info.bid, attempt: msg.attempt, entries: sts.length, includePeers },
      'batch committed',
    );
    return batchFollowerCommit(msg, stored.sts, stored.nonce);
  }

  async reveal(from: number, info: BatchInfo, msg: BatchProposal): Promise<BatchRevealReply> {
    const stored = await this.d.store.getBatchCommit(info.bid, msg.attempt);
    if (!stored)
      throw new CoordinatorError('ROUND_UNKNOWN', `no commitment for attempt ${msg.attempt} of this batch`);
    if (!sameBatch(stored.info, info) || from !== info.leaderId) {
      throw new CoordinatorError('ROUND_MISMATCH', 'the proposal does not match the committed batch');
    }
    const chainId = BigInt(await this.d.chain.chainId());
    const fault = this.d.fault();
    const signSts = (sts: readonly bigint[]): Hex => {
      const message = hexToBytes(
        batchPaymentMessage({
          chainId,
          upkeeping: info.upkeeping,
          user: info.user,
          leaderId: info.leaderId,
          entries: batchEntriesOf(stored.items, sts),
        }),
      );
      const bytes = fault.kind === 'garbage-sig' ? stringToBytes('garbage') : message;
      return toHex(sign(this.d.blsSecretKey, bytes));
    };
    const reply = batchFollowerRespond(msg, stored.sts, stored.nonce, this.d.tolBps, signSts);
    this.d.log.debug(
      { bid: info.bid, attempt: msg.attempt, proposal: msg.proposal, approve: reply.approve },
      'batch revealed',
    );
    return reply;
  }

  /** Full sync of a batch: pull the others' records of every entry's interval and store them. */
  async sync(from: number, info: BatchInfo, attempt: number, view: UpkeepingView): Promise<number> {
    if (from !== info.leaderId)
      throw new CoordinatorError('ROUND_NOT_LEADER', `keeper ${from} is not the leader`);
    const stored = await this.d.store.getBatchCommit(info.bid, attempt);
    if (!stored)
      throw new CoordinatorError('ROUND_UNKNOWN', `no commitment for attempt ${attempt} of this batch`);
    let accepted = 0;
    for (const it of stored.items) {
      const records = await this.d.pullFromPeers(entryInfo(info, it), view);
      if (!this.d.records) continue;
      const res = await this.d.records.putPeerRecords(records);
      accepted += res.accepted + res.duplicates;
    }
    this.d.log.info({ bid: info.bid, accepted }, 'batch full sync stored peer records');
    return accepted;
  }
}

export interface BatchLeaderDeps {
  keeperId: number;
  chain: ChainView;
  st: StSource;
  store: RoundStore;
  peers: PeerClients;
  follower: BatchFollower;
  payments: PaymentClient;
  /** Every entry's outcome of a mined payBatch, read from its receipt (when the submitter's result was missed). */
  settlement: SettlementReader;
  metrics: Metrics;
  log: Logger;
  fault: () => Fault;
  peerDeadlineMs: number;
  /** Attempt n waits `(peerDeadlineMs + entries × perEntry) × growth^(n−1)`, at most `peerDeadlineMaxMs`. */
  peerDeadlineGrowth: number;
  peerDeadlineMaxMs: number;
  /** Added to `peerDeadlineMs` per entry of the batch: a follower computes every entry's st before it answers. */
  peerDeadlinePerEntryMs: number;
  syncDeadlineMs: number;
  maxAttempts: number;
}

/** The broadcast a batch state is waiting on (what a resumed batch sends again). */
export function currentBatchMessage(s: BatchLeaderState): BatchLeaderMessage | null {
  const { bid, user, leaderId, r, items } = s.config;
  switch (s.phase) {
    case 'committing':
      return { kind: 'batch_commit_request', bid, attempt: s.attempt, user, leaderId, r, items };
    case 'proposing':
      return {
        kind: 'batch_propose',
        bid,
        attempt: s.attempt,
        proposal: s.proposal,
        sts: s.proposedSts!,
        median: s.proposal === 2,
      };
    case 'syncing':
      return { kind: 'batch_sync_request', bid, attempt: s.attempt };
    default:
      return null;
  }
}

/**
 * Runs (or resumes) one batch round as its leader — `runLeaderRound` over
 * core's `batchLeaderReducer`: state written to `batch:<bid>` after every
 * event, broadcasts to every member (own follower in-process), a full sync
 * recomputes every entry's st over the union, and the agreed vector goes to
 * the chain-submitter as one `payBatch` (exactly once by the batch id). The
 * record keeps every entry's outcome (paid, or skipped with the reason).
 */
export async function runBatchLeaderRound(job: BatchJob, d: BatchLeaderDeps): Promise<BatchRecord> {
  const info = batchInfoOfJob(job);
  const items = batchItemsOfJob(job);
  const log = d.log.child({ bid: info.bid, entries: items.length });
  let te = 0n; // the latest te of the batch (the election gives every entry the same)
  for (const it of items) if (it.te > te) te = it.te;
  const view = await d.chain.viewAt(info.upkeeping, te);
  const chainId = BigInt(await d.chain.chainId());
  const group: Group = {
    upkeeping: view.upkeeping,
    members: new Map(view.members.map((m) => [m.keeperId, m.account])),
  };
  const keys = new Map(view.members.map((m) => [m.keeperId, m.publicKey]));

  let rec = await d.store.getBatch(info.bid);
  if (!rec) {
    const state = createBatchLeaderRound({
      user: info.user,
      leaderId: info.leaderId,
      r: info.r,
      items,
      members: view.members.map((m) => m.keeperId),
      threshold: view.threshold,
      maxAttempts: d.maxAttempts,
    });
    const now = Date.now();
    // An entry paid since the election (the previous position's payment landed late) makes every
    // follower refuse the whole batch (ROUND_STALE_TS) for every attempt: give it up at once. The
    // worker releases the claims, and the next block's election batches the entries still due.
    const head = await d.chain.current(info.upkeeping, true);
    const stale = items.filter((it) => nextTsOf(head, it.pid) !== it.ts).length;
    if (stale > 0) {
      rec = {
        info,
        state,
        synced: false,
        outcome: 'rejected',
        startedAt: now,
        updatedAt: now,
        finishedAt: now,
        error: {
          code: 'ROUND_STALE_TS',
          message: `${stale} of ${items.length} entries were paid since the election`,
        },
      };
      await d.store.putBatch(rec);
      d.metrics.rounds.inc({ outcome: 'rejected', phase: 'start' });
      log.info({ stale }, 'batch given up: entries paid since the election');
      return rec;
    }
    rec = { info, state, synced: false, outcome: 'running', startedAt: now, updatedAt: now };
    await d.store.putBatch(rec);
    log.info({ members: state.config.members, threshold: state.config.threshold }, 'batch round started');
  } else if (FINAL_OUTCOMES.includes(rec.outcome)) {
    return rec;
  } else {
    log.info({ phase: rec.state.phase, attempt: rec.state.attempt }, 'batch round resumed');
  }

  // The message of the current proposal, encoded once (the state keeps the same `proposedSts` array).
  let encoded: { sts: readonly bigint[]; message: Hex } | null = null;
  const messageOf = (sts: readonly bigint[]): Hex => {
    if (encoded?.sts !== sts) {
      const message = batchPaymentMessage({
        chainId,
        upkeeping: info.upkeeping,
        user: info.user,
        leaderId: info.leaderId,
        entries: batchEntriesOf(items, sts),
      });
      encoded = { sts, message };
    }
    return encoded.message;
  };
  // Approval shares are verified in batches (`shares.ts`): the reducer reads the verdicts.
  const shares = shareVerifier((from) => keys.get(from));
  const verifySignature = (from: number, sts: readonly bigint[], signature: Hex): boolean =>
    shares.verdict(from, messageOf(sts), signature);

  const { push, next, pending } = eventQueue<BatchLeaderEvent>();

  const ownSts = async (includePeers: boolean) => {
    const fault = d.fault();
    const sts = await d.st.computeStBatch({ user: info.user, entries: items, includePeers });
    return sts.map((st) => applyStFault(fault, st));
  };

  const local = async (msg: BatchLeaderMessage): Promise<DecodedBatchReply> => {
    const me = d.keeperId;
    switch (msg.kind) {
      case 'batch_commit_request':
        return bodyToBatchReply(
          batchCommitReplyToBody(await d.follower.commit(me, info, msg, rec!.synced, view), info),
        );
      case 'batch_propose':
        return bodyToBatchReply(batchRevealToBody(await d.follower.reveal(me, info, msg), info));
      case 'batch_sync_request':
        return bodyToBatchReply(
          batchSyncReplyToBody(info, msg.attempt, await d.follower.sync(me, info, msg.attempt, view)),
        );
    }
  };

  const broadcast = (msg: BatchLeaderMessage) => {
    const counted: Broadcast =
      msg.kind === 'batch_commit_request'
        ? { phase: 'commit', attempt: msg.attempt, synced: rec!.synced }
        : msg.kind === 'batch_propose'
          ? { phase: 'propose', median: msg.median }
          : { phase: 'sync' };
    countBroadcast(d.metrics, counted);
    const body = batchLeaderMessageToBody(msg, info, rec!.synced);
    const perEntry = items.length * d.peerDeadlinePerEntryMs;
    const deadline =
      msg.kind === 'batch_sync_request'
        ? d.syncDeadlineMs + perEntry
        : attemptDeadlineMs(
            d.peerDeadlineMs + perEntry,
            msg.attempt,
            d.peerDeadlineGrowth,
            d.peerDeadlineMaxMs,
          );
    void askMembers({
      members: rec!.state.config.members,
      self: d.keeperId,
      local: () => local(msg),
      remote: async (m) => bodyToBatchReply(await d.peers.round(m, group, body, deadline)),
      answer: (from, reply) => push({ ...reply, from }),
      phase: counted.phase,
      metrics: d.metrics,
      log,
    }).then(async () => {
      switch (msg.kind) {
        case 'batch_commit_request':
          push({ type: 'timeout', attempt: msg.attempt, phase: 'committing' });
          return;
        case 'batch_propose':
          push({ type: 'timeout', attempt: msg.attempt, phase: 'proposing', proposal: msg.proposal });
          return;
        case 'batch_sync_request':
          try {
            const sts = await ownSts(true);
            rec = { ...rec!, synced: true };
            push({ type: 'synced', sts });
          } catch (err) {
            log.warn({ err }, 'own st after the full sync unavailable');
            push({ type: 'timeout', attempt: msg.attempt, phase: 'syncing' });
          }
      }
    });
  };

  if (rec.state.phase === 'idle') {
    push({ type: 'start', sts: await ownSts(false) });
  } else {
    const pending = currentBatchMessage(rec.state);
    if (pending) broadcast(pending);
  }

  while (rec.state.phase !== 'submitted' && rec.state.phase !== 'failed') {
    const event = await next();
    const s = rec.state;
    if (event.type === 'reveal' && s.phase === 'proposing' && s.proposedSts !== null) {
      const queued = approvalShares([event, ...pending()], s.attempt, s.proposal);
      await shares.prepare(messageOf(s.proposedSts), queued);
    }
    const step = batchLeaderReducer(rec.state, event, { verifySignature });
    rec = { ...rec, state: step.state, updatedAt: Date.now() };
    await d.store.putBatch(rec);
    for (const out of step.outputs) {
      switch (out.type) {
        case 'broadcast':
          broadcast(out.msg);
          break;
        case 'full_sync':
          log.info({ attempt: out.attempt }, 'batch: no quorum, full sync');
          break;
        case 'rejected':
          d.metrics.rejected.inc({ boundary: 'round', reason: out.reason });
          break;
        case 'failed':
          log.warn({ reason: out.reason, attempt: rec.state.attempt }, 'batch round failed');
          break;
        case 'submit':
          log.info({ signers: out.signers }, 'batch quorum reached');
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
    await d.store.putBatch(rec);
    d.metrics.rounds.inc({ outcome: 'failed', phase: 'failed' });
    return rec;
  }

  const signerIds = Object.keys(rec.state.approvals)
    .map(Number)
    .sort((a, b) => a - b);
  const signature = toHex(
    g2ToEip2537(aggregateSignatures(signerIds.map((id) => fromHex(rec!.state.approvals[id]!)))),
  );
  rec = { ...rec, outcome: 'submitting', updatedAt: Date.now() };
  await d.store.putBatch(rec);
  let result = await d.payments.submitAndWait({
    kind: 'batch',
    upkeeping: info.upkeeping,
    entries: encodeBatchEntries(batchEntriesOf(items, rec.state.proposedSts!)),
    leaderId: info.leaderId,
    r: info.r,
    group: view.group,
    signers: signerIndices(decodeGroup(view.group), signerIds),
    signature,
    tid: info.bid,
  });
  if (result.status === 'confirmed' && result.txHash && result.entries === undefined) {
    // Only the chain-submitter's reply said so (a resumed batch whose result was published while
    // this replica was down): every entry's outcome comes from the receipt instead.
    try {
      const settled = await d.settlement(info.upkeeping, result.txHash);
      result = { ...result, amount: settled.amount, entries: settled.entries };
    } catch (err) {
      log.warn({ err, txHash: result.txHash }, 'batch outcome not readable from the receipt');
    }
  }
  const finishedAt = Date.now();
  rec = {
    ...rec,
    outcome: result.status,
    finishedAt,
    updatedAt: finishedAt,
    ...(result.txHash ? { txHash: result.txHash } : {}),
    ...(result.amount ? { amount: result.amount } : {}),
    ...(result.entries ? { entries: result.entries } : {}),
    ...(result.errorCode ? { error: { code: result.errorCode, message: result.status } } : {}),
  };
  await d.store.putBatch(rec);
  d.metrics.rounds.inc({ outcome: result.status, phase: 'submitted' });
  if (result.status === 'confirmed') d.metrics.roundDuration.observe((finishedAt - rec.startedAt) / 1000);
  log.info(
    {
      outcome: result.status,
      txHash: result.txHash,
      paid: result.entries?.filter((e) => e.status === 'paid').length,
      skipped: result.entries
        ?.filter((e) => e.status === 'skipped')
        .map((e) => [e.pid, 'reason' in e ? e.reason : '']),
    },
    'batch round finished',
  );
  return rec;
}
