import { randomBytes } from 'node:crypto';
import type { Logger } from '@whitepay/base';
import { aggregateSignatures, fromHex, g2ToEip2537, sign, toHex } from '@whitepay/bls';
import { decodeGroup, signerIndices } from '@whitepay/contracts';
import {
  batchPaymentMessage,
  type CommitReply,
  type CommitRequest,
  checkIdleProposal,
  createLeaderRound,
  decideIdle,
  encodeBatchEntries,
  followerCommit,
  followerRespond,
  type IdleDecision,
  idleBits,
  type LeaderEvent,
  type LeaderMessage,
  type LeaderState,
  leaderAt,
  leaderReducer,
  type Proposal,
  type RecordRef,
  type RevealReply,
  type RoundItem,
  roundEntriesOf,
  roundId,
} from '@whitepay/core';
import type { challengeV1, keeperV1 } from '@whitepay/proto';
import { type Address, bytesToHex, type Hex, hexToBytes } from 'viem';
import { type ChainView, groupOf, nextTsOf, type UpkeepingView } from '../chain/view.js';
import { CoordinatorError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { PeerClients } from '../peer/client.js';
import {
  bodyToReply,
  commitReplyToBody,
  type DecodedReply,
  type IdleProposal,
  leaderMessageToBody,
  type RoundInfo,
  revealToBody,
  sameRound,
  syncReplyToBody,
} from '../peer/messages.js';
import type { RecordPage, RecordStore } from '../records.js';
import type { StSource } from '../st.js';
import { askMembers, attemptDeadlineMs, type Broadcast, countBroadcast, eventQueue } from './fanout.js';
import type { IdleLog } from './idle-log.js';
import type { SettlementReader } from './settlement.js';
import { approvalShares, shareVerifier } from './shares.js';
import {
  FINAL_OUTCOMES,
  type RoundRecord,
  type RoundStore,
  type StoredCommit,
  type StoredIdle,
} from './store.js';
import type { PaymentClient } from './submit.js';

/**
 * The coordinator's one round driver (SPEC 6): core's `leaderReducer` and
 * `followerCommit`/`followerRespond` decide, this module carries their
 * messages, persists their state and checks what needs the chain. A round is
 * a list of `k >= 1` entries of one user led by one keeper at one position;
 * a single due provider is a list of one. What the driver reads and signs
 * with comes in as dependencies (`StSource`, `PaymentSigner`): the app wires
 * the real ones, and wraps them with the test faults only when asked to.
 */

// ---------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------

/** Data of a `rounds` job (jobId = the round id): one Upkeeping, one leader, one position, its entries. */
export interface RoundJob {
  upkeeping: Address;
  user: Address;
  leaderId: number;
  r: number;
  /** Entries in order (integers as decimal strings); `cycle` names each entry's leader window. */
  items: Array<{ pid: Address; ts: string; te: string; cycle: string }>;
  /** The value of the window claims of every entry (released together when the round fails). */
  claim: Hex;
}

export function itemsOfJob(job: RoundJob): RoundItem[] {
  return job.items.map((it) => ({ pid: it.pid, ts: BigInt(it.ts), te: BigInt(it.te) }));
}

export function roundInfoOfJob(job: RoundJob): RoundInfo {
  return {
    upkeeping: job.upkeeping,
    user: job.user,
    leaderId: job.leaderId,
    r: job.r,
    tid: roundId({ user: job.user, leaderId: job.leaderId, r: job.r, items: itemsOfJob(job) }),
  };
}

// ---------------------------------------------------------------------------
// The signer and the payment message
// ---------------------------------------------------------------------------

/** This keeper's BLS key as the driver uses it: a signature (compressed G2 hex) over message bytes. */
export interface PaymentSigner {
  sign(message: Uint8Array): Hex;
}

export function blsSigner(secretKey: Uint8Array): PaymentSigner {
  return { sign: (message) => toHex(sign(secretKey, message)) };
}

/**
 * The message every member signs for `sts` over the round's items with their idle sets (`idle`: per
 * entry, the bitmap over member indices; core's `batchPaymentMessage`).
 */
export function roundMessage(
  chainId: bigint,
  info: RoundInfo,
  items: readonly RoundItem[],
  sts: readonly bigint[],
  idle: readonly bigint[],
): Hex {
  return batchPaymentMessage({
    chainId,
    upkeeping: info.upkeeping,
    user: info.user,
    leaderId: info.leaderId,
    entries: roundEntriesOf(items, sts, idle),
  });
}

/**
 * Makes sure this keeper holds keeper `ref.keeperId`'s record of `(user, pid)` at `ref.block`
 * re-verified (SPEC 3 item 5): pulls it from that keeper and hands it to the challenge-store, which
 * re-verifies it. True when a record with a verified proof (space > 0) is now held.
 */
export type RecordFetcher = (
  info: RoundInfo,
  pid: Address,
  ref: RecordRef,
  view: UpkeepingView,
) => Promise<boolean>;

/**
 * Whether `ref` names a verified record of (user, `item.pid`) inside `[item.ts, item.te)` (SPEC 3 item
 * 5), checked as cheaply as it can be: among what this keeper holds (`held`, from its commitment); for
 * its own record, among its own records; else fetched from the keeper it belongs to and re-verified.
 * The leader's check of a vouch and a member's check of a proposal's reference are this one function.
 */
export async function verifyRef(
  d: { keeperId: number; records: RecordStore | null; fetchRecord: RecordFetcher },
  info: RoundInfo,
  item: RoundItem,
  held: readonly RecordRef[],
  ref: RecordRef,
  view: UpkeepingView,
): Promise<boolean> {
  if (ref.block < item.ts || ref.block >= item.te) return false;
  if (held.some((h) => h.keeperId === ref.keeperId && h.block === ref.block)) return true;
  if (ref.keeperId === d.keeperId) {
    const own = d.records
      ? (
          await d.records.ownSignedPage({
            user: info.user,
            pid: item.pid,
            from: ref.block,
            to: ref.block + 1n,
          })
        ).records
      : [];
    return own.some((r) => (r.record?.space ?? 0n) > 0n);
  }
  return d.fetchRecord(info, item.pid, ref, view);
}

/** The member ids in group order (the order of `signers` and of the idle bitmap). */
export function groupOrder(view: UpkeepingView): number[] {
  return decodeGroup(view.group).map((m) => m.keeperId);
}

// ---------------------------------------------------------------------------
// "The sender leads this window"
// ---------------------------------------------------------------------------

/**
 * The one check a member makes before it commits: the id names these items,
 * the sender is the round's leader, the user owns the Upkeeping, and for every
 * entry the provider's next ts is `ts`, `te` has been mined and `leaderAt`
 * names the sender at the round's position. A view that predates the last
 * payment is read again once.
 *
 * @throws CoordinatorError `ROUND_MISMATCH`, `ROUND_NOT_LEADER`, `ROUND_UNKNOWN_ACCOUNT`, `ROUND_STALE_TS`, `ROUND_TE_AHEAD`.
 */
export async function checkLeads(
  chain: ChainView,
  from: number,
  info: RoundInfo,
  items: readonly RoundItem[],
  view: UpkeepingView,
): Promise<UpkeepingView> {
  const id = roundId({ user: info.user, leaderId: info.leaderId, r: info.r, items });
  if (id.toLowerCase() !== info.tid.toLowerCase()) {
    throw new CoordinatorError('ROUND_MISMATCH', 'the round id does not match the entries it names');
  }
  if (from !== info.leaderId) {
    throw new CoordinatorError('ROUND_NOT_LEADER', `keeper ${from} sent a round led by ${info.leaderId}`);
  }
  if (view.user.toLowerCase() !== info.user.toLowerCase()) {
    throw new CoordinatorError('ROUND_MISMATCH', `user ${info.user} does not own ${info.upkeeping}`);
  }
  let v = view;
  if (items.some((it) => nextTsOf(v, it.pid) !== it.ts)) v = await chain.current(info.upkeeping, true);
  let head = await chain.headBlock(250);
  for (const it of items) {
    const ts = nextTsOf(v, it.pid);
    if (ts === undefined)
      throw new CoordinatorError('ROUND_UNKNOWN_ACCOUNT', `${it.pid} is not an active provider`);
    if (ts !== it.ts) {
      throw new CoordinatorError('ROUND_STALE_TS', `ts ${it.ts} of ${it.pid} is not its next ts ${ts}`);
    }
    if (it.te > head) head = await chain.headBlock(0);
    if (it.te > head) throw new CoordinatorError('ROUND_TE_AHEAD', `te ${it.te} is after our head ${head}`);
    const slot = leaderAt(
      { user: info.user, pid: it.pid, ts: it.ts, keepers: v.members.map((m) => m.keeperId), H: v.H, T: v.T },
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
  return v;
}

// ---------------------------------------------------------------------------
// Member
// ---------------------------------------------------------------------------

export interface FollowerDeps {
  keeperId: number;
  chain: ChainView;
  st: StSource;
  store: RoundStore;
  records: RecordStore | null;
  signer: PaymentSigner;
  tolBps: bigint;
  log: Logger;
  /** Pulls one entry's `[ts, te)` of (user, pid) from every other member (full sync); returns the records gathered. */
  pullFromPeers: (
    info: RoundInfo,
    item: RoundItem,
    view: UpkeepingView,
  ) => Promise<challengeV1.SignedRecord[]>;
  /** Fetches a referenced record this member does not hold (SPEC 3 item 5). */
  fetchRecord: RecordFetcher;
  metrics: Metrics;
  /** Where the idle sets this member signs are noted for operators (absent in unit tests). */
  idleLog?: IdleLog;
}

/** The latest te among a round's items. */
export function maxTe(items: readonly RoundItem[]): bigint {
  let te = 0n;
  for (const it of items) if (it.te > te) te = it.te;
  return te;
}

/** A member's commitment and, per entry, its vouches (the other keepers' records it holds). */
export interface CommitAnswer {
  readonly reply: CommitReply;
  readonly vouches: RecordRef[][];
}

/**
 * A member's side of a round, the leader included (its driver calls it
 * in-process): {@link checkLeads}, its st per entry from the st source, then
 * core's `followerCommit` / `followerRespond` (approve only if every entry is
 * within tolerance; the signature is over the round's payment message).
 */
export class Follower {
  constructor(private readonly d: FollowerDeps) {}

  /** The challenge-store this member reads its own records from (null without one). */
  get records(): RecordStore | null {
    return this.d.records;
  }

  /**
   * SPEC 6.1: compute every entry's st_i and what this member holds of the others' records (its vouches,
   * SPEC 3 item 5), draw a nonce, persist them, then answer the commitment with the vouches. `deadline`
   * is the leader's for this attempt (the gRPC call's): the st-calculator's calls, their settle waits
   * included, end before it, since an answer after it counts for nothing.
   */
  async commit(
    from: number,
    info: RoundInfo,
    msg: CommitRequest,
    includePeers: boolean,
    view: UpkeepingView,
    deadline?: Date,
  ): Promise<CommitAnswer> {
    const existing = await this.d.store.getCommit(info.tid, msg.attempt);
    if (existing) {
      if (!sameRound(existing.info, info))
        throw new CoordinatorError('ROUND_MISMATCH', 'another round under this id');
      return this.answer(msg, existing);
    }
    await checkLeads(this.d.chain, from, info, msg.items, view);
    const [sts, held] = await Promise.all([
      this.d.st.computeStBatch({ user: info.user, entries: msg.items, includePeers, deadline }),
      this.d.st.listVouches({
        user: info.user,
        entries: msg.items,
        keeperIds: view.members.map((m) => m.keeperId),
        deadline,
      }),
    ]);
    const nonce = bytesToHex(randomBytes(32));
    const stored = await this.d.store.putCommit(
      { info, items: msg.items, sts, nonce, includePeers, held },
      msg.attempt,
    );
    this.d.log.debug({ tid: info.tid, attempt: msg.attempt, entries: sts.length, includePeers }, 'committed');
    return this.answer(msg, stored);
  }

  private answer(msg: CommitRequest, stored: StoredCommit): CommitAnswer {
    return {
      reply: followerCommit(msg, stored.sts, stored.nonce),
      vouches: stored.held.map((refs) => refs.filter((r) => r.keeperId !== this.d.keeperId)),
    };
  }

  /**
   * SPEC 6.2/6.3: reveal, and sign the payment message when every entry is within tolerance and its idle
   * set holds (SPEC 3 item 5: well formed, naming no keeper whose records this member holds, every
   * reference a verified record — held, or fetched and re-verified). A refused idle set is a reveal
   * without approval, its reason counted.
   */
  async reveal(from: number, info: RoundInfo, msg: Proposal, idle: IdleProposal): Promise<RevealReply> {
    const stored = await this.d.store.getCommit(info.tid, msg.attempt);
    if (!stored)
      throw new CoordinatorError('ROUND_UNKNOWN', `no commitment for attempt ${msg.attempt} of this round`);
    if (!sameRound(stored.info, info) || from !== info.leaderId) {
      throw new CoordinatorError('ROUND_MISMATCH', 'the proposal does not match the committed round');
    }
    const view = await this.d.chain.viewAt(info.upkeeping, maxTe(stored.items));
    const members = groupOrder(view);
    const refused = await this.refuseIdle(info, stored, idle, view, members);
    const chainId = BigInt(await this.d.chain.chainId());
    const signSts = (sts: readonly bigint[]): Hex =>
      this.d.signer.sign(hexToBytes(roundMessage(chainId, info, stored.items, sts, idle.bits)));
    const reply = followerRespond(msg, stored.sts, stored.nonce, this.d.tolBps, signSts);
    const signs = reply.approve && !refused;
    // What operators see of the idle sets (a malformed one names nobody reliably: not noted).
    if (refused?.reason !== 'IDLE_SET_MALFORMED')
      await this.d.idleLog?.answered(info, stored.items, idle.bits, members, signs);
    if (refused && reply.approve) {
      this.d.metrics.rejected.inc({ boundary: 'round', reason: refused.reason });
      this.d.log.info(
        {
          tid: info.tid,
          attempt: msg.attempt,
          reason: refused.reason,
          entry: refused.entry,
          keeper: refused.keeperId,
        },
        'idle set refused: not signing',
      );
      const { signature: _signature, ...unsigned } = reply;
      return { ...unsigned, approve: false };
    }
    this.d.log.debug(
      { tid: info.tid, attempt: msg.attempt, proposal: msg.proposal, approve: reply.approve },
      'revealed',
    );
    return reply;
  }

  /** The first problem of the proposal's idle sets, or null when every entry's holds. */
  private async refuseIdle(
    info: RoundInfo,
    stored: StoredCommit,
    idle: IdleProposal,
    view: UpkeepingView,
    members: readonly number[],
  ): Promise<{ reason: string; entry: number; keeperId?: number } | null> {
    if (idle.bits.length !== stored.items.length || idle.active.length !== stored.items.length)
      return { reason: 'IDLE_SET_MALFORMED', entry: -1 };
    for (let i = 0; i < stored.items.length; i++) {
      const held = stored.held[i] ?? [];
      const check = checkIdleProposal({
        members,
        self: this.d.keeperId,
        bits: idle.bits[i]!,
        active: idle.active[i]!,
        held: new Set(held.filter((r) => r.keeperId !== this.d.keeperId).map((r) => r.keeperId)),
      });
      if (!check.ok)
        return {
          reason: check.reason,
          entry: i,
          ...(check.keeperId !== undefined ? { keeperId: check.keeperId } : {}),
        };
      const item = stored.items[i]!;
      for (const ref of idle.active[i]!) {
        if (!(await verifyRef(this.d, info, item, held, ref, view)))
          return { reason: 'IDLE_REF_UNVERIFIED', entry: i, keeperId: ref.keeperId };
      }
    }
    return null;
  }

  /** SPEC 6.4: pull the others' records of every entry's interval and store them (re-verified by the challenge-store). */
  async sync(from: number, info: RoundInfo, attempt: number, view: UpkeepingView): Promise<number> {
    if (from !== info.leaderId)
      throw new CoordinatorError('ROUND_NOT_LEADER', `keeper ${from} is not the leader`);
    const stored = await this.d.store.getCommit(info.tid, attempt);
    if (!stored)
      throw new CoordinatorError('ROUND_UNKNOWN', `no commitment for attempt ${attempt} of this round`);
    let accepted = 0;
    let pulled = 0;
    for (const it of stored.items) {
      const records = await this.d.pullFromPeers(info, it, view);
      pulled += records.length;
      if (!this.d.records) continue;
      const res = await this.d.records.putPeerRecords(records);
      accepted += res.accepted + res.duplicates;
    }
    if (!this.d.records) this.d.log.warn({ tid: info.tid, pulled }, 'full sync without a challenge-store');
    else this.d.log.info({ tid: info.tid, pulled, accepted }, 'full sync stored peer records');
    return accepted;
  }

  /** A peer pulls one page of this keeper's own records (signed with its account key). */
  async ownRecords(pull: keeperV1.RecordsPull): Promise<RecordPage> {
    if (!this.d.records) return { records: [], nextPageToken: '' };
    return this.d.records.ownSignedPage({
      user: bytesToHex(pull.user),
      pid: bytesToHex(pull.pid),
      from: pull.from,
      to: pull.to,
      pageToken: pull.pageToken,
    });
  }
}

// ---------------------------------------------------------------------------
// Leader
// ---------------------------------------------------------------------------

export interface LeaderDeps {
  keeperId: number;
  chain: ChainView;
  st: StSource;
  store: RoundStore;
  peers: PeerClients;
  follower: Follower;
  payments: PaymentClient;
  /** Every entry's outcome of a mined payBatch, read from its receipt (when the submitter's result was missed). */
  settlement: SettlementReader;
  metrics: Metrics;
  log: Logger;
  /** The peer deadline of a round's first attempt (ms), before the per-entry allowance. */
  peerDeadlineMs: number;
  /** Attempt n waits `(peerDeadlineMs + entries × perEntry) × growth^(n−1)`, at most `peerDeadlineMaxMs`. */
  peerDeadlineGrowth: number;
  peerDeadlineMaxMs: number;
  /** Added to `peerDeadlineMs` per entry: a follower computes every entry's st before it answers. */
  peerDeadlinePerEntryMs: number;
  syncDeadlineMs: number;
  maxAttempts: number;
  /** Fetches a vouched record the leader does not hold (SPEC 3 item 5). */
  fetchRecord: RecordFetcher;
  /** TEST ONLY (`faults.ts` `idle-mark`): rewrites the leader's idle decisions; absent in production. */
  idleFault?: (decisions: readonly IdleDecision[]) => IdleDecision[];
}

/** A stored idle decision as the proposal carries it (bits over `members` in group order). */
export function idleProposalOf(stored: StoredIdle, members: readonly number[]): IdleProposal {
  return {
    bits: stored.entries.map((e) => idleBits(members, e.idle)),
    active: stored.entries.map((e) =>
      e.active.map((r) => ({ keeperId: r.keeperId, block: BigInt(r.block) })),
    ),
  };
}

/**
 * The leader's idle sets for one attempt (SPEC 3 item 5), per entry: core's
 * `decideIdle` over its own holdings (first, so a record it holds costs no
 * check) and the vouches that came with the members' commitments; a vouched
 * record it does not hold is fetched from its keeper and re-verified by the
 * challenge-store. The leader's own record (vouched by others) is checked
 * among its own.
 */
export async function decideIdleSets(
  d: Pick<LeaderDeps, 'keeperId' | 'store' | 'fetchRecord'> & { records: RecordStore | null },
  info: RoundInfo,
  attempt: number,
  items: readonly RoundItem[],
  members: readonly number[],
  vouches: ReadonlyMap<number, readonly (readonly RecordRef[])[]>,
  view: UpkeepingView,
): Promise<IdleDecision[]> {
  const own = await d.store.getCommit(info.tid, attempt);
  const out: IdleDecision[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const held = own?.held[i] ?? [];
    const replies = [
      { from: d.keeperId, refs: held.filter((r) => r.keeperId !== d.keeperId) },
      ...[...vouches]
        .filter(([from]) => from !== d.keeperId)
        .map(([from, perEntry]) => ({ from, refs: perEntry[i] ?? [] })),
    ];
    out.push(await decideIdle(members, replies, (ref) => verifyRef(d, info, item, held, ref, view)));
  }
  return out;
}

/** The broadcast a state is waiting on (what a resumed round sends again). */
export function currentMessage(s: LeaderState): LeaderMessage | null {
  const { tid, user, leaderId, r, items } = s.config;
  switch (s.phase) {
    case 'committing':
      return { kind: 'commit_request', tid, attempt: s.attempt, user, leaderId, r, items };
    case 'proposing':
      return {
        kind: 'propose',
        tid,
        attempt: s.attempt,
        proposal: s.proposal,
        sts: s.proposedSts!,
        median: s.proposal === 2,
      };
    case 'syncing':
      return { kind: 'sync_request', tid, attempt: s.attempt };
    default:
      return null;
  }
}

/** The `payBatch` signer indices and EIP-2537 aggregate signature of a submitted state's approvals. */
export function aggregateApprovals(
  state: LeaderState,
  view: UpkeepingView,
): { signers: number[]; signerIds: number[]; signature: Hex } {
  const signerIds = Object.keys(state.approvals)
    .map(Number)
    .sort((a, b) => a - b);
  const signature = toHex(
    g2ToEip2537(aggregateSignatures(signerIds.map((id) => fromHex(state.approvals[id]!)))),
  );
  return { signers: signerIndices(decodeGroup(view.group), signerIds), signerIds, signature };
}

/**
 * Runs (or resumes) one round as its leader.
 *
 * - Every reducer event is followed by a write of the round record
 *   (`round:<tid>`), so a crashed replica's job (BullMQ re-runs stalled jobs)
 *   resumes from it: the pending broadcast is sent again (members answer a
 *   repeated request with the same stored commitment / the same reveal), a
 *   submitted round is submitted again (idempotent by tid at the
 *   chain-submitter).
 * - An entry paid since the election makes every member refuse the round
 *   (`ROUND_STALE_TS`): such a round is given up at once, its claims released
 *   by the worker, and the next block's election lists the entries still due.
 * - A broadcast goes to every member (the leader's own follower in-process,
 *   the others over gRPC with a deadline that grows per entry and per
 *   attempt); each answer is an event. When every call of a broadcast has
 *   settled, the phase's timeout event is fed (ignored if the round moved on).
 * - After a full sync the leader recomputes every entry's st over the union
 *   and feeds `synced`; commit requests of later attempts carry `include_peers`.
 * - The agreed vector goes to the chain-submitter as one `payBatch`; the
 *   record keeps every entry's outcome (paid, or skipped with its reason).
 */
export async function runLeaderRound(job: RoundJob, d: LeaderDeps): Promise<RoundRecord> {
  const info = roundInfoOfJob(job);
  const items = itemsOfJob(job);
  const log = d.log.child({ tid: info.tid, entries: items.length });
  // At the latest te of the round (the election gives every entry the same).
  const view = await d.chain.viewAt(info.upkeeping, maxTe(items));
  const chainId = BigInt(await d.chain.chainId());
  const group = groupOf(view);
  const keys = new Map(view.members.map((m) => [m.keeperId, m.publicKey]));
  const members = groupOrder(view);
  // Vouches that came with the commitments (SPEC 3 item 5), per attempt and member; in memory: a resumed
  // round decides from what it has (its own holdings), and a wrong idle set is refused and retried.
  const vouched = new Map<number, Map<number, RecordRef[][]>>();

  let rec = await d.store.getRound(info.tid);
  if (!rec) {
    const state = createLeaderRound({
      user: info.user,
      leaderId: info.leaderId,
      r: info.r,
      items,
      members: view.members.map((m) => m.keeperId),
      threshold: view.threshold,
      maxAttempts: d.maxAttempts,
    });
    const now = Date.now();
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
      await d.store.putRound(rec);
      d.metrics.rounds.inc({ outcome: 'rejected', phase: 'start' });
      log.info({ stale }, 'round given up: entries paid since the election');
      return rec;
    }
    rec = { info, state, synced: false, outcome: 'running', startedAt: now, updatedAt: now };
    await d.store.putRound(rec);
    log.info({ members: state.config.members, threshold: state.config.threshold }, 'round started');
  } else if (FINAL_OUTCOMES.includes(rec.outcome)) {
    return rec;
  } else {
    log.info({ phase: rec.state.phase, attempt: rec.state.attempt }, 'round resumed');
  }

  // The idle sets of the attempt being proposed, as the proposal and the signed entries carry them.
  let idle: IdleProposal | null = rec.idle ? idleProposalOf(rec.idle, members) : null;
  const idleBitsNow = (): readonly bigint[] => idle?.bits ?? items.map(() => 0n);
  // The leader's own commitment per attempt: its holdings are what the decision checks first.
  const ownCommits = new Map<number, Promise<unknown>>();
  const decide = async (attempt: number): Promise<void> => {
    if (rec!.idle?.attempt === attempt) return;
    // The quorum of commitments may have come before the leader's own (bounded by its st deadline).
    await ownCommits.get(attempt)?.catch(() => undefined);
    const decided = await decideIdleSets(
      { ...d, records: d.follower.records },
      info,
      attempt,
      items,
      members,
      vouched.get(attempt) ?? new Map(),
      view,
    );
    const decisions = d.idleFault ? d.idleFault(decided) : decided;
    const stored: StoredIdle = {
      attempt,
      entries: decisions.map((e) => ({
        idle: [...e.idle],
        active: e.active.map((r) => ({ keeperId: r.keeperId, block: r.block.toString() })),
      })),
    };
    rec = { ...rec!, idle: stored, updatedAt: Date.now() };
    await d.store.putRound(rec);
    idle = idleProposalOf(stored, members);
    const counted = decisions.filter((e) => e.idle.length > 0);
    if (counted.length > 0)
      log.info(
        { attempt, entries: counted.length, idle: [...new Set(counted.flatMap((e) => e.idle))] },
        'idle keepers counted',
      );
  };

  // The message of the current proposal, encoded once (the state keeps the same `proposedSts` array).
  let encoded: { sts: readonly bigint[]; bits: readonly bigint[]; message: Hex } | null = null;
  const messageOf = (sts: readonly bigint[]): Hex => {
    const bits = idleBitsNow();
    if (encoded?.sts !== sts || encoded.bits !== bits)
      encoded = { sts, bits, message: roundMessage(chainId, info, items, sts, bits) };
    return encoded.message;
  };
  // Approval shares are verified in batches (`shares.ts`): the reducer reads the verdicts.
  const shares = shareVerifier((from) => keys.get(from));
  const verifySignature = (from: number, sts: readonly bigint[], signature: Hex): boolean =>
    shares.verdict(from, messageOf(sts), signature);

  // ── the event queue: answers arrive concurrently, the reducer runs one event at a time ──
  const { push, next, pending } = eventQueue<LeaderEvent>();

  const ownSts = (includePeers: boolean) =>
    d.st.computeStBatch({ user: info.user, entries: items, includePeers });

  /**
   * The leader's own follower answers in-process, through the same encoding as a peer's answer, within
   * the attempt's deadline as the others (`deadlineMs` from now).
   */
  const local = async (msg: LeaderMessage, deadlineMs: number): Promise<DecodedReply> => {
    const me = d.keeperId;
    switch (msg.kind) {
      case 'commit_request': {
        const deadline = new Date(Date.now() + deadlineMs);
        const committed = d.follower.commit(me, info, msg, rec!.synced, view, deadline);
        ownCommits.set(msg.attempt, committed);
        const { reply, vouches } = await committed;
        return bodyToReply(commitReplyToBody(reply, info, vouches));
      }
      case 'propose':
        return bodyToReply(revealToBody(await d.follower.reveal(me, info, msg, idle!), info));
      case 'sync_request':
        return bodyToReply(
          syncReplyToBody(info, msg.attempt, await d.follower.sync(me, info, msg.attempt, view)),
        );
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
    const body = leaderMessageToBody(msg, info, rec!.synced, msg.kind === 'propose' ? idle! : undefined);
    const perEntry = items.length * d.peerDeadlinePerEntryMs;
    const deadline =
      msg.kind === 'sync_request'
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
      local: () => local(msg, deadline),
      remote: async (m) => bodyToReply(await d.peers.round(m, group, body, deadline)),
      answer: (from, reply) => {
        if (reply.type === 'commit') {
          const byFrom = vouched.get(reply.msg.attempt) ?? new Map<number, RecordRef[][]>();
          byFrom.set(from, reply.vouches);
          vouched.set(reply.msg.attempt, byFrom);
        }
        push({ ...reply, from });
      },
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

  // ── start or resume ──
  if (rec.state.phase === 'idle') {
    push({ type: 'start', sts: await ownSts(false) });
  } else {
    const waiting = currentMessage(rec.state);
    if (waiting?.kind === 'propose') await decide(waiting.attempt);
    if (waiting) broadcast(waiting);
  }

  while (rec.state.phase !== 'submitted' && rec.state.phase !== 'failed') {
    const event = await next();
    const s = rec.state;
    if (event.type === 'reveal' && s.phase === 'proposing' && s.proposedSts !== null) {
      const queued = approvalShares([event, ...pending()], s.attempt, s.proposal);
      await shares.prepare(messageOf(s.proposedSts), queued);
    }
    const step = leaderReducer(rec.state, event, { verifySignature });
    rec = { ...rec, state: step.state, updatedAt: Date.now() };
    await d.store.putRound(rec);
    for (const out of step.outputs) {
      switch (out.type) {
        case 'broadcast':
          log.debug({ kind: out.msg.kind, attempt: out.msg.attempt }, 'broadcast');
          // An attempt's idle sets are decided once, before its first proposal (the median re-proposal keeps them).
          if (out.msg.kind === 'propose') await decide(out.msg.attempt);
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
          log.info({ signers: out.signers }, 'quorum reached');
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
  let result = await d.payments.submitAndWait({
    upkeeping: info.upkeeping,
    entries: encodeBatchEntries(roundEntriesOf(items, rec.state.proposedSts!, idleBitsNow())),
    leaderId: info.leaderId,
    r: info.r,
    group: view.group,
    signers,
    signature,
    tid: info.tid,
  });
  if (result.status === 'confirmed' && result.txHash && result.entries === undefined) {
    // Only the chain-submitter's reply said so (a resumed round whose result was published while
    // this replica was down): every entry's outcome comes from the receipt instead.
    try {
      const settled = await d.settlement(info.upkeeping, result.txHash);
      result = { ...result, amount: settled.amount, entries: settled.entries };
    } catch (err) {
      log.warn({ err, txHash: result.txHash }, 'round outcome not readable from the receipt');
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
  await d.store.putRound(rec);
  d.metrics.rounds.inc({ outcome: result.status, phase: 'submitted' });
  if (result.status === 'confirmed') d.metrics.roundDuration.observe((finishedAt - rec.startedAt) / 1000);
  log.info(
    {
      outcome: result.status,
      txHash: result.txHash,
      ms: finishedAt - rec.startedAt,
      paid: result.entries?.filter((e) => e.status === 'paid').length,
      skipped: result.entries
        ?.filter((e) => e.status === 'skipped')
        .map((e) => [e.pid, 'reason' in e ? e.reason : '']),
    },
    'round finished',
  );
  return rec;
}
