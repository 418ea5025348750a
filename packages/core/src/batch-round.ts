import { type Address, concat, encodeAbiParameters, type Hex, keccak256, numberToHex } from 'viem';
import { bytes32Problem, UINT32_MAX, UINT64_MAX, UINT256_MAX, uintProblem } from './abi.js';
import type { BatchEntry } from './batch.js';
import { EncodingError, RoundError, ToleranceError } from './errors.js';
import { DEFAULT_MAX_ATTEMPTS, type LeaderPhase, type RejectReason } from './round.js';
import { checkAddressField, checkIntField, checkUintField } from './tid.js';
import { approveThreshold, commitQuorum, median, withinTolerance } from './tolerance.js';

// ---------------------------------------------------------------------------
// Batch identity and commitments
// ---------------------------------------------------------------------------

/** One provider interval of a batch round; its `st` is what the round agrees on. */
export interface BatchItem {
  readonly pid: Address;
  readonly ts: bigint;
  readonly te: bigint;
}

export interface BatchIdInput {
  readonly user: Address;
  readonly leaderId: number;
  /** The leader's 1-based position (`uint8`). */
  readonly r: number;
  readonly items: readonly BatchItem[];
}

/** The domain string of a batch round's id. */
export const BATCH_ROUND_DOMAIN = 'WhitePay/batch-round/v1';

function checkItems(items: readonly BatchItem[]): void {
  if (!Array.isArray(items) || items.length === 0) {
    throw new EncodingError('ENCODING_INVALID_VALUE', 'a batch needs at least one entry', { field: 'items' });
  }
  const seen = new Set<string>();
  items.forEach((it, i) => {
    checkAddressField(it.pid, `items[${i}].pid`);
    checkUintField(it.ts, UINT64_MAX, `items[${i}].ts`);
    checkUintField(it.te, UINT64_MAX, `items[${i}].te`);
    if (it.te <= it.ts) {
      throw new EncodingError(
        'ENCODING_INVALID_VALUE',
        `items[${i}]: te (${it.te}) must be after ts (${it.ts})`,
        {
          field: `items[${i}].te`,
        },
      );
    }
    const key = it.pid.toLowerCase();
    if (seen.has(key)) {
      throw new EncodingError('ENCODING_INVALID_VALUE', `items[${i}]: provider ${it.pid} twice in a batch`, {
        field: `items[${i}].pid`,
      });
    }
    seen.add(key);
  });
}

/**
 * The id of a batch round (the round's "tid", and the job id that dedups it
 * across replicas): `keccak256(abi.encode(string "WhitePay/batch-round/v1",
 * address user, uint32 leaderId, uint8 r, bytes32 keccak256(packed)))` where
 * `packed` is `abi.encodePacked(address pid, uint64 ts, uint64 te)` per item,
 * in order.
 *
 * @throws EncodingError on an empty list, a duplicate provider, a value that
 *   does not fit its type or `te <= ts`.
 */
export function batchId(input: BatchIdInput): Hex {
  checkAddressField(input.user, 'user');
  checkIntField(input.leaderId, UINT32_MAX, 'leaderId');
  checkIntField(input.r, 255n, 'r', 1);
  checkItems(input.items);
  const packed = concat(
    input.items.map((it) =>
      concat([
        it.pid.toLowerCase() as Address,
        numberToHex(it.ts, { size: 8 }),
        numberToHex(it.te, { size: 8 }),
      ]),
    ),
  );
  return keccak256(
    encodeAbiParameters(
      [{ type: 'string' }, { type: 'address' }, { type: 'uint32' }, { type: 'uint8' }, { type: 'bytes32' }],
      [BATCH_ROUND_DOMAIN, input.user.toLowerCase() as Address, input.leaderId, input.r, keccak256(packed)],
    ),
  );
}

/**
 * A member's commitment to its vector of values (SPEC 6 step 1, per entry):
 * `keccak256(abi.encodePacked(uint256 st_0, …, uint256 st_{k-1}, bytes32 nonce))`.
 *
 * @throws EncodingError when the list is empty, a value is not a `uint256` or `nonce` not 32 bytes.
 */
export function batchCommitment(sts: readonly bigint[], nonce: Hex): Hex {
  if (!Array.isArray(sts) || sts.length === 0) {
    throw new EncodingError('ENCODING_INVALID_VALUE', 'sts: expected at least one value', { field: 'sts' });
  }
  sts.forEach((st, i) => {
    checkUintField(st, UINT256_MAX, `sts[${i}]`);
  });
  const problem = bytes32Problem(nonce);
  if (problem !== null) {
    throw new EncodingError('ENCODING_INVALID_VALUE', `nonce: ${problem}`, { field: 'nonce' });
  }
  return keccak256(concat([...sts.map((st) => numberToHex(st, { size: 32 })), nonce]));
}

/** The entries (with their agreed values) a batch submits and its members sign. */
export function batchEntriesOf(items: readonly BatchItem[], sts: readonly bigint[]): BatchEntry[] {
  return items.map((it, i) => ({ pid: it.pid, ts: it.ts, te: it.te, st: sts[i]! }));
}

// ---------------------------------------------------------------------------
// Wire messages
// ---------------------------------------------------------------------------

export interface BatchCommitRequest {
  readonly kind: 'batch_commit_request';
  readonly bid: Hex;
  readonly attempt: number;
  readonly user: Address;
  readonly leaderId: number;
  readonly r: number;
  readonly items: readonly BatchItem[];
}

/** The leader's vector; `proposal` 1 is its own, 2 the per-entry median. */
export interface BatchProposal {
  readonly kind: 'batch_propose';
  readonly bid: Hex;
  readonly attempt: number;
  readonly proposal: number;
  readonly sts: readonly bigint[];
  readonly median: boolean;
}

export interface BatchSyncRequest {
  readonly kind: 'batch_sync_request';
  readonly bid: Hex;
  readonly attempt: number;
}

export type BatchLeaderMessage = BatchCommitRequest | BatchProposal | BatchSyncRequest;

export interface BatchCommitReply {
  readonly kind: 'batch_commit';
  readonly bid: Hex;
  readonly attempt: number;
  readonly commitment: Hex;
}

/** A member's reveal of its vector and, when it approves every entry, its signature over the batch message. */
export interface BatchRevealReply {
  readonly kind: 'batch_reveal';
  readonly bid: Hex;
  readonly attempt: number;
  readonly proposal: number;
  readonly sts: readonly bigint[];
  readonly nonce: Hex;
  readonly approve: boolean;
  readonly signature?: Hex;
}

// ---------------------------------------------------------------------------
// Leader
// ---------------------------------------------------------------------------

export interface BatchRoundConfig {
  readonly bid: Hex;
  readonly user: Address;
  readonly leaderId: number;
  readonly r: number;
  readonly items: readonly BatchItem[];
  readonly members: readonly number[];
  readonly commitQuorum: number;
  readonly threshold: number;
  readonly maxAttempts: number;
}

export interface BatchLeaderState {
  readonly v: 1;
  readonly kind: 'batch';
  readonly config: BatchRoundConfig;
  readonly phase: LeaderPhase;
  readonly attempt: number;
  readonly proposal: number;
  readonly leaderSts: readonly bigint[] | null;
  readonly proposedSts: readonly bigint[] | null;
  readonly commitments: Readonly<Record<string, Hex>>;
  readonly reveals: Readonly<Record<string, readonly bigint[]>>;
  readonly responded: readonly number[];
  readonly approvals: Readonly<Record<string, Hex>>;
  readonly liars: readonly number[];
  readonly rejected: Readonly<Record<string, number>>;
}

export type BatchLeaderEvent =
  | { readonly type: 'start'; readonly sts: readonly bigint[] }
  | { readonly type: 'commit'; readonly from: number; readonly msg: BatchCommitReply }
  | { readonly type: 'reveal'; readonly from: number; readonly msg: BatchRevealReply }
  | {
      readonly type: 'timeout';
      readonly attempt?: number;
      readonly phase?: LeaderPhase;
      readonly proposal?: number;
    }
  | { readonly type: 'synced'; readonly sts: readonly bigint[] };

export type BatchLeaderOutput =
  | { readonly type: 'broadcast'; readonly msg: BatchLeaderMessage }
  | { readonly type: 'full_sync'; readonly bid: Hex; readonly attempt: number }
  | {
      readonly type: 'submit';
      readonly sts: bigint[];
      /** `items` with the agreed values, in order: what `payBatch` takes. */
      readonly entries: BatchEntry[];
      readonly signers: number[];
      readonly signatures: Hex[];
    }
  | { readonly type: 'failed'; readonly reason: 'no_quorum' }
  | { readonly type: 'rejected'; readonly from: number; readonly reason: RejectReason };

export interface BatchLeaderStep {
  readonly state: BatchLeaderState;
  readonly outputs: BatchLeaderOutput[];
}

export interface BatchLeaderDeps {
  /** Whether `signature` is `from`'s valid signature over the batch message for `sts` (pure; a throw is invalid). */
  readonly verifySignature: (from: number, sts: readonly bigint[], signature: Hex) => boolean;
}

export interface BatchLeaderRoundInput {
  readonly user: Address;
  readonly leaderId: number;
  readonly r: number;
  readonly items: readonly BatchItem[];
  readonly members: readonly number[];
  readonly threshold?: number;
  readonly maxAttempts?: number;
}

const PHASES: readonly LeaderPhase[] = ['idle', 'committing', 'proposing', 'syncing', 'submitted', 'failed'];

const invalidConfig = (message: string, details: Record<string, unknown> = {}): RoundError =>
  new RoundError('ROUND_INVALID_CONFIG', message, details);

/**
 * A new batch leader round in phase `idle` (feed it `{ type: 'start' }`); its
 * id is {@link batchId} of the inputs.
 *
 * @throws RoundError on an invalid group, a leader outside it, a bad
 *   threshold or attempt bound; EncodingError on items the id cannot encode.
 */
export function createBatchLeaderRound(input: BatchLeaderRoundInput): BatchLeaderState {
  const members = [...input.members];
  if (members.length === 0) throw invalidConfig('the keeper group must not be empty');
  for (const id of members) {
    if (!Number.isInteger(id) || id < 0 || BigInt(id) > UINT32_MAX) {
      throw invalidConfig(`keeper id must be a uint32, got ${String(id)}`, { keeperId: id });
    }
  }
  if (new Set(members).size !== members.length) throw invalidConfig('duplicate keeper id in the group');
  if (!members.includes(input.leaderId)) {
    throw invalidConfig(`leader ${input.leaderId} is not in the group`, { leaderId: input.leaderId });
  }
  const maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw invalidConfig(`maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  }
  let threshold: number;
  try {
    threshold = approveThreshold(members.length, input.threshold);
  } catch (err) {
    throw invalidConfig((err as Error).message, { threshold: input.threshold });
  }
  const items = input.items.map((it) => ({ pid: it.pid, ts: it.ts, te: it.te }));
  return {
    v: 1,
    kind: 'batch',
    config: {
      bid: batchId({ user: input.user, leaderId: input.leaderId, r: input.r, items }),
      user: input.user,
      leaderId: input.leaderId,
      r: input.r,
      items,
      members: members.sort((a, b) => a - b),
      commitQuorum: Math.max(commitQuorum(members.length), threshold),
      threshold,
      maxAttempts,
    },
    phase: 'idle',
    attempt: 0,
    proposal: 0,
    leaderSts: null,
    proposedSts: null,
    commitments: {},
    reveals: {},
    responded: [],
    approvals: {},
    liars: [],
    rejected: {},
  };
}

function isUint256(v: unknown): v is bigint {
  return uintProblem(v, UINT256_MAX) === null;
}

function isVector(v: unknown, k: number): v is readonly bigint[] {
  return Array.isArray(v) && v.length === k && v.every(isUint256);
}

function isHexString(v: unknown): v is Hex {
  return typeof v === 'string' && /^0x(?:[0-9a-fA-F]{2})+$/.test(v);
}

function reject(state: BatchLeaderState, from: number, reason: RejectReason): BatchLeaderStep {
  return {
    state: { ...state, rejected: { ...state.rejected, [reason]: (state.rejected[reason] ?? 0) + 1 } },
    outputs: [{ type: 'rejected', from, reason }],
  };
}

function failed(state: BatchLeaderState): BatchLeaderStep {
  return { state: { ...state, phase: 'failed' }, outputs: [{ type: 'failed', reason: 'no_quorum' }] };
}

function beginAttempt(state: BatchLeaderState, attempt: number, sts: readonly bigint[]): BatchLeaderStep {
  if (attempt > state.config.maxAttempts) return failed(state);
  const { bid, user, leaderId, r, items } = state.config;
  return {
    state: {
      ...state,
      phase: 'committing',
      attempt,
      proposal: 0,
      leaderSts: [...sts],
      proposedSts: null,
      commitments: {},
      reveals: {},
      responded: [],
      approvals: {},
    },
    outputs: [
      { type: 'broadcast', msg: { kind: 'batch_commit_request', bid, attempt, user, leaderId, r, items } },
    ],
  };
}

function propose(state: BatchLeaderState, proposal: number, sts: readonly bigint[]): BatchLeaderStep {
  return {
    state: { ...state, phase: 'proposing', proposal, proposedSts: [...sts], responded: [], approvals: {} },
    outputs: [
      {
        type: 'broadcast',
        msg: {
          kind: 'batch_propose',
          bid: state.config.bid,
          attempt: state.attempt,
          proposal,
          sts: [...sts],
          median: proposal === 2,
        },
      },
    ],
  };
}

/** The per-entry median of revealed vectors (each entry: core's lower median). */
export function medianVector(vectors: readonly (readonly bigint[])[]): bigint[] {
  if (vectors.length === 0) throw new ToleranceError('TOLERANCE_EMPTY_MEDIAN', 'median of no vectors');
  const k = vectors[0]!.length;
  return Array.from({ length: k }, (_, i) => median(vectors.map((v) => v[i]!)));
}

function concludeProposal(state: BatchLeaderState): BatchLeaderStep {
  const revealed = Object.values(state.reveals);
  if (state.proposal === 1 && revealed.length >= state.config.commitQuorum) {
    return propose(state, 2, medianVector(revealed));
  }
  if (state.attempt >= state.config.maxAttempts) return failed(state);
  const { bid } = state.config;
  return {
    state: { ...state, phase: 'syncing' },
    outputs: [
      { type: 'broadcast', msg: { kind: 'batch_sync_request', bid, attempt: state.attempt } },
      { type: 'full_sync', bid, attempt: state.attempt },
    ],
  };
}

function commonChecks(
  state: BatchLeaderState,
  from: number,
  msg: { bid: unknown; attempt: unknown },
): RejectReason | null {
  if (state.phase === 'idle' || state.phase === 'submitted' || state.phase === 'failed') return 'closed';
  if (!state.config.members.includes(from)) return 'not_member';
  if (typeof msg !== 'object' || msg === null || !Number.isInteger(msg.attempt)) return 'malformed';
  if (msg.bid !== state.config.bid) return 'wrong_round';
  if (msg.attempt !== state.attempt) return 'wrong_attempt';
  return null;
}

function onCommit(state: BatchLeaderState, from: number, msg: BatchCommitReply): BatchLeaderStep {
  const common = commonChecks(state, from, msg);
  if (common !== null) return reject(state, from, common);
  if (msg.kind !== 'batch_commit' || bytes32Problem(msg.commitment) !== null) {
    return reject(state, from, 'malformed');
  }
  if (state.phase !== 'committing') return reject(state, from, 'unexpected');
  if (state.commitments[from] !== undefined) return reject(state, from, 'duplicate');
  const next: BatchLeaderState = { ...state, commitments: { ...state.commitments, [from]: msg.commitment } };
  if (Object.keys(next.commitments).length >= state.config.commitQuorum) {
    return propose(next, 1, state.leaderSts!);
  }
  return { state: next, outputs: [] };
}

function verify(deps: BatchLeaderDeps, from: number, sts: readonly bigint[], signature: Hex): boolean {
  try {
    return deps.verifySignature(from, sts, signature) === true;
  } catch {
    return false;
  }
}

function onReveal(
  state: BatchLeaderState,
  from: number,
  msg: BatchRevealReply,
  deps: BatchLeaderDeps,
): BatchLeaderStep {
  const common = commonChecks(state, from, msg);
  if (common !== null) return reject(state, from, common);
  if (
    msg.kind !== 'batch_reveal' ||
    !Number.isInteger(msg.proposal) ||
    !isVector(msg.sts, state.config.items.length) ||
    bytes32Problem(msg.nonce) !== null ||
    typeof msg.approve !== 'boolean' ||
    (msg.signature !== undefined && typeof msg.signature !== 'string')
  ) {
    return reject(state, from, 'malformed');
  }
  if (state.phase !== 'proposing') return reject(state, from, 'unexpected');
  if (msg.proposal !== state.proposal) return reject(state, from, 'wrong_proposal');
  const committed = state.commitments[from];
  if (committed === undefined) return reject(state, from, 'no_commitment');
  if (state.liars.includes(from)) return reject(state, from, 'liar');
  if (state.responded.includes(from)) return reject(state, from, 'duplicate');
  if (batchCommitment(msg.sts, msg.nonce) !== committed) {
    const caught = reject(state, from, 'commitment_mismatch');
    const step = settle({ ...caught.state, liars: [...state.liars, from] });
    return { state: step.state, outputs: [...caught.outputs, ...step.outputs] };
  }
  let approvals = state.approvals;
  if (msg.approve) {
    if (msg.signature === undefined || !isHexString(msg.signature)) {
      return reject(state, from, 'missing_signature');
    }
    if (!verify(deps, from, state.proposedSts!, msg.signature)) return reject(state, from, 'bad_signature');
    approvals = { ...approvals, [from]: msg.signature };
  }
  return settle({
    ...state,
    reveals: { ...state.reveals, [from]: [...msg.sts] },
    responded: [...state.responded, from],
    approvals,
  });
}

function settle(next: BatchLeaderState): BatchLeaderStep {
  const { approvals } = next;
  const approved = Object.keys(approvals).length;
  if (approved >= next.config.threshold) {
    const signers = Object.keys(approvals)
      .map(Number)
      .sort((a, b) => a - b);
    const sts = [...next.proposedSts!];
    return {
      state: { ...next, phase: 'submitted' },
      outputs: [
        {
          type: 'submit',
          sts,
          entries: batchEntriesOf(next.config.items, sts),
          signers,
          signatures: signers.map((id) => approvals[id]!),
        },
      ],
    };
  }
  const outstanding = Object.keys(next.commitments)
    .map(Number)
    .filter((id) => !next.responded.includes(id) && !next.liars.includes(id)).length;
  if (approved + outstanding >= next.config.threshold) return { state: next, outputs: [] };
  const revealed = Object.keys(next.reveals).length;
  if (next.proposal === 1 && revealed < next.config.commitQuorum && outstanding > 0) {
    return { state: next, outputs: [] };
  }
  return concludeProposal(next);
}

function onTimeout(
  state: BatchLeaderState,
  event: Extract<BatchLeaderEvent, { type: 'timeout' }>,
): BatchLeaderStep {
  const stale =
    (event.attempt !== undefined && event.attempt !== state.attempt) ||
    (event.phase !== undefined && event.phase !== state.phase) ||
    (event.proposal !== undefined && event.proposal !== state.proposal);
  if (stale) return { state, outputs: [] };
  switch (state.phase) {
    case 'committing':
    case 'syncing':
      return beginAttempt(state, state.attempt + 1, state.leaderSts!);
    case 'proposing':
      return concludeProposal(state);
    default:
      return { state, outputs: [] };
  }
}

function checkStartVector(state: BatchLeaderState, sts: unknown, what: string): void {
  if (!isVector(sts, state.config.items.length)) {
    throw new RoundError(
      'ROUND_INVALID_EVENT',
      `${what}: sts must be ${state.config.items.length} uint256 values, one per entry`,
    );
  }
}

/**
 * The leader's side of a batch round: {@link leaderReducer} over a vector of
 * values, one per entry (same phases, quorum, re-proposal, full sync and
 * rejections). Commitments are {@link batchCommitment}s of whole vectors; the
 * re-proposal is the per-entry median of the revealed vectors; an approval is
 * a signature over the batch payment message of the proposed vector, which a
 * member gives only when every entry is within tolerance of its own value.
 *
 * @throws RoundError only on misuse by the caller: `start` twice, or a
 *   vector of the wrong length or with a non-`uint256` in `start`/`synced`.
 */
export function batchLeaderReducer(
  state: BatchLeaderState,
  event: BatchLeaderEvent,
  deps: BatchLeaderDeps,
): BatchLeaderStep {
  switch (event.type) {
    case 'start':
      if (state.phase !== 'idle') {
        throw new RoundError('ROUND_ALREADY_STARTED', `round already started (phase ${state.phase})`, {
          phase: state.phase,
        });
      }
      checkStartVector(state, event.sts, 'start');
      return beginAttempt(state, 1, event.sts);
    case 'commit':
      return onCommit(state, event.from, event.msg);
    case 'reveal':
      return onReveal(state, event.from, event.msg, deps);
    case 'timeout':
      return onTimeout(state, event);
    case 'synced':
      checkStartVector(state, event.sts, 'synced');
      if (state.phase !== 'syncing') return { state, outputs: [] };
      return beginAttempt(state, state.attempt + 1, event.sts);
    default:
      throw new RoundError(
        'ROUND_INVALID_EVENT',
        `unknown event type ${String((event as { type: unknown }).type)}`,
      );
  }
}

// ---------------------------------------------------------------------------
// Follower
// ---------------------------------------------------------------------------

/** Step 1 for a member: commit to its own vector (one value per entry) with a fresh random nonce. */
export function batchFollowerCommit(
  request: BatchCommitRequest,
  mySts: readonly bigint[],
  nonce: Hex,
): BatchCommitReply {
  if (mySts.length !== request.items.length) {
    throw new RoundError(
      'ROUND_INVALID_EVENT',
      `expected ${request.items.length} values, got ${mySts.length}`,
    );
  }
  return {
    kind: 'batch_commit',
    bid: request.bid,
    attempt: request.attempt,
    commitment: batchCommitment(mySts, nonce),
  };
}

/**
 * Step 2/3 for a member: reveal its vector and approve — `sign(proposal.sts)`,
 * its signature over the batch payment message — only if EVERY proposed
 * entry is within `tolBps` of its own value.
 */
export function batchFollowerRespond(
  proposal: BatchProposal,
  mySts: readonly bigint[],
  myNonce: Hex,
  tolBps: bigint,
  sign: (sts: readonly bigint[]) => Hex,
): BatchRevealReply {
  const base = {
    kind: 'batch_reveal',
    bid: proposal.bid,
    attempt: proposal.attempt,
    proposal: proposal.proposal,
    sts: [...mySts],
    nonce: myNonce,
  } as const;
  const agrees =
    proposal.sts.length === mySts.length &&
    proposal.sts.every((st, i) => withinTolerance(st, mySts[i]!, tolBps));
  if (!agrees) return { ...base, approve: false };
  return { ...base, approve: true, signature: sign(proposal.sts) };
}

// ---------------------------------------------------------------------------
// Persistence
// ---------------------------------------------------------------------------

const BIGINT_TAG = '$bigint';

/** The state as JSON text; bigints become `{"$bigint": "<decimal>"}`. */
export function serializeBatchRoundState(state: BatchLeaderState): string {
  return JSON.stringify(state, (_key, value: unknown) =>
    typeof value === 'bigint' ? { [BIGINT_TAG]: value.toString() } : value,
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The inverse of {@link serializeBatchRoundState}, with a structural check.
 *
 * @throws RoundError (`ROUND_STATE_INVALID`) on text that is not a saved batch leader state.
 */
export function deserializeBatchRoundState(text: string): BatchLeaderState {
  const invalid = (why: string): RoundError =>
    new RoundError('ROUND_STATE_INVALID', `not a batch round state: ${why}`);
  let value: unknown;
  try {
    value = JSON.parse(text, (_key, v: unknown) => {
      if (isRecord(v) && Object.keys(v).length === 1 && typeof v[BIGINT_TAG] === 'string') {
        const digits = v[BIGINT_TAG];
        if (!/^-?\d+$/.test(digits)) throw new Error(`bad bigint ${digits}`);
        return BigInt(digits);
      }
      return v;
    });
  } catch (err) {
    throw invalid((err as Error).message);
  }
  if (!isRecord(value) || value.v !== 1 || value.kind !== 'batch') throw invalid('unknown version');
  const { config } = value;
  if (
    !isRecord(config) ||
    typeof config.bid !== 'string' ||
    !Array.isArray(config.members) ||
    !Array.isArray(config.items) ||
    !config.items.every((it) => isRecord(it) && typeof it.ts === 'bigint' && typeof it.te === 'bigint')
  ) {
    throw invalid('bad config');
  }
  if (!PHASES.includes(value.phase as LeaderPhase)) throw invalid('bad phase');
  for (const key of ['commitments', 'reveals', 'approvals', 'rejected'] as const) {
    if (!isRecord(value[key])) throw invalid(`bad ${key}`);
  }
  for (const key of ['responded', 'liars'] as const)
    if (!Array.isArray(value[key])) throw invalid(`bad ${key}`);
  for (const key of ['attempt', 'proposal'] as const) {
    if (!Number.isInteger(value[key])) throw invalid(`bad ${key}`);
  }
  return value as unknown as BatchLeaderState;
}
