import { type Address, concat, encodeAbiParameters, type Hex, keccak256, numberToHex } from 'viem';
import { bytes32Problem, UINT32_MAX, UINT64_MAX, UINT256_MAX, uintProblem } from './abi.js';
import type { BatchEntry } from './batch.js';
import { EncodingError, RoundError, ToleranceError } from './errors.js';
import { checkAddressField, checkIntField, checkUintField } from './tid.js';
import { approveThreshold, commitQuorum, median, withinTolerance } from './tolerance.js';

/**
 * The consensus round of SPEC 6 over a list of `k >= 1` entries that share a
 * user, a leader and a position: one reducer for every payment (a single
 * payment is a list of one). Every step applies per entry — the commitment
 * covers the vector of values, the tolerance is checked entry by entry, the
 * re-proposal is the per-entry median, a full sync exchanges the records of
 * every entry's interval — and the members sign one message committing to
 * the whole list (`batchPaymentMessage`).
 */

// ---------------------------------------------------------------------------
// Identity and commitments
// ---------------------------------------------------------------------------

/**
 * Most entries in one round: the leader's `BATCH_MAX` is capped by it, the
 * election splits at the leader's value and every member accepts lists up to
 * it (one `payBatch` of ~25k gas per entry: 1,000 ≈ 25M gas).
 */
export const MAX_ROUND_ENTRIES = 1000;

/** Commit/propose attempts of one round: the first plus two after a full sync or a commit timeout. */
export const DEFAULT_MAX_ATTEMPTS = 3;

export type LeaderPhase = 'idle' | 'committing' | 'proposing' | 'syncing' | 'submitted' | 'failed';

export type RejectReason =
  | 'closed'
  | 'not_member'
  | 'malformed'
  | 'wrong_round'
  | 'wrong_attempt'
  | 'wrong_proposal'
  | 'unexpected'
  | 'duplicate'
  | 'no_commitment'
  | 'liar'
  | 'commitment_mismatch'
  | 'missing_signature'
  | 'bad_signature';

/** One provider interval of a round; its `st` is what the round agrees on. */
export interface RoundItem {
  readonly pid: Address;
  readonly ts: bigint;
  readonly te: bigint;
}

export interface RoundIdInput {
  readonly user: Address;
  readonly leaderId: number;
  /** The leader's 1-based position (`uint8`). */
  readonly r: number;
  readonly items: readonly RoundItem[];
}

/** The domain string of a round's id (unchanged from the batch rounds, so ids stay the same). */
export const ROUND_ID_DOMAIN = 'WhitePay/batch-round/v1';

function checkItems(items: readonly RoundItem[]): void {
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_ROUND_ENTRIES) {
    throw new EncodingError('ENCODING_INVALID_VALUE', `a round has 1..${MAX_ROUND_ENTRIES} entries`, {
      field: 'items',
    });
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
      throw new EncodingError('ENCODING_INVALID_VALUE', `items[${i}]: provider ${it.pid} twice in a round`, {
        field: `items[${i}].pid`,
      });
    }
    seen.add(key);
  });
}

/**
 * The id of a round (its "tid" on the wire, and the job id that dedups it
 * across replicas; for a list it replaces SPEC 6's per-payment tid): `keccak256(abi.encode(string "WhitePay/batch-round/v1",
 * address user, uint32 leaderId, uint8 r, bytes32 keccak256(packed)))` where
 * `packed` is `abi.encodePacked(address pid, uint64 ts, uint64 te)` per item,
 * in order.
 *
 * @throws EncodingError on an empty list, more than {@link MAX_ROUND_ENTRIES} entries, a duplicate provider, a value that
 *   does not fit its type or `te <= ts`.
 */
export function roundId(input: RoundIdInput): Hex {
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
      [ROUND_ID_DOMAIN, input.user.toLowerCase() as Address, input.leaderId, input.r, keccak256(packed)],
    ),
  );
}

/**
 * A member's commitment to its vector of values (SPEC 6 step 1, per entry):
 * `keccak256(abi.encodePacked(uint256 st_0, …, uint256 st_{k-1}, bytes32 nonce))`.
 * For one entry these are the bytes of the single round's
 * `keccak256(abi.encode(uint256 st, bytes32 nonce))`.
 *
 * @throws EncodingError when the list is empty, a value is not a `uint256` or `nonce` not 32 bytes.
 */
export function commitment(sts: readonly bigint[], nonce: Hex): Hex {
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

/** The entries (with their agreed values and idle sets, SPEC 3 item 5) a round submits and its members sign. */
export function roundEntriesOf(
  items: readonly RoundItem[],
  sts: readonly bigint[],
  idle?: readonly bigint[],
): BatchEntry[] {
  return items.map((it, i) => ({ pid: it.pid, ts: it.ts, te: it.te, st: sts[i]!, idle: idle?.[i] ?? 0n }));
}

// ---------------------------------------------------------------------------
// Wire messages
// ---------------------------------------------------------------------------

export interface CommitRequest {
  readonly kind: 'commit_request';
  readonly tid: Hex;
  readonly attempt: number;
  readonly user: Address;
  readonly leaderId: number;
  readonly r: number;
  readonly items: readonly RoundItem[];
}

/** The leader's vector; `proposal` 1 is its own, 2 the per-entry median. */
export interface Proposal {
  readonly kind: 'propose';
  readonly tid: Hex;
  readonly attempt: number;
  readonly proposal: number;
  readonly sts: readonly bigint[];
  readonly median: boolean;
}

export interface SyncRequest {
  readonly kind: 'sync_request';
  readonly tid: Hex;
  readonly attempt: number;
}

export type LeaderMessage = CommitRequest | Proposal | SyncRequest;

export interface CommitReply {
  readonly kind: 'commit';
  readonly tid: Hex;
  readonly attempt: number;
  readonly commitment: Hex;
}

/** A member's reveal of its vector and, when it approves every entry, its signature over the payment message. */
export interface RevealReply {
  readonly kind: 'reveal';
  readonly tid: Hex;
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

export interface RoundConfig {
  readonly tid: Hex;
  readonly user: Address;
  readonly leaderId: number;
  readonly r: number;
  readonly items: readonly RoundItem[];
  readonly members: readonly number[];
  readonly commitQuorum: number;
  readonly threshold: number;
  readonly maxAttempts: number;
}

/** The whole leader state: plain data (bigints are encoded by {@link serializeRoundState}). */
export interface LeaderState {
  /** 2: the list layout (1 was the single round's, which no keeper runs any more). */
  readonly v: 2;
  readonly config: RoundConfig;
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

export type LeaderEvent =
  | { readonly type: 'start'; readonly sts: readonly bigint[] }
  | { readonly type: 'commit'; readonly from: number; readonly msg: CommitReply }
  | { readonly type: 'reveal'; readonly from: number; readonly msg: RevealReply }
  | {
      readonly type: 'timeout';
      readonly attempt?: number;
      readonly phase?: LeaderPhase;
      readonly proposal?: number;
    }
  | { readonly type: 'synced'; readonly sts: readonly bigint[] };

export type LeaderOutput =
  | { readonly type: 'broadcast'; readonly msg: LeaderMessage }
  | { readonly type: 'full_sync'; readonly tid: Hex; readonly attempt: number }
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

export interface LeaderStep {
  readonly state: LeaderState;
  readonly outputs: LeaderOutput[];
}

export interface LeaderDeps {
  /**
   * Whether `signature` is `from`'s valid BLS signature over the payment
   * message (`batchPaymentMessage`) of this round's entries with values `sts`.
   * Must be pure (BLS verification is); a throw counts as an invalid signature.
   */
  readonly verifySignature: (from: number, sts: readonly bigint[], signature: Hex) => boolean;
}

export interface LeaderRoundInput {
  readonly user: Address;
  readonly leaderId: number;
  readonly r: number;
  readonly items: readonly RoundItem[];
  readonly members: readonly number[];
  readonly threshold?: number;
  readonly maxAttempts?: number;
}

const PHASES: readonly LeaderPhase[] = ['idle', 'committing', 'proposing', 'syncing', 'submitted', 'failed'];

const invalidConfig = (message: string, details: Record<string, unknown> = {}): RoundError =>
  new RoundError('ROUND_INVALID_CONFIG', message, details);

/**
 * A new leader round in phase `idle` (feed it `{ type: 'start' }`); its
 * id is {@link roundId} of the inputs.
 *
 * @throws RoundError on an invalid group, a leader outside it, a bad
 *   threshold or attempt bound; EncodingError on items the id cannot encode.
 */
export function createLeaderRound(input: LeaderRoundInput): LeaderState {
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
    v: 2,
    config: {
      tid: roundId({ user: input.user, leaderId: input.leaderId, r: input.r, items }),
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

function reject(state: LeaderState, from: number, reason: RejectReason): LeaderStep {
  return {
    state: { ...state, rejected: { ...state.rejected, [reason]: (state.rejected[reason] ?? 0) + 1 } },
    outputs: [{ type: 'rejected', from, reason }],
  };
}

function failed(state: LeaderState): LeaderStep {
  return { state: { ...state, phase: 'failed' }, outputs: [{ type: 'failed', reason: 'no_quorum' }] };
}

function beginAttempt(state: LeaderState, attempt: number, sts: readonly bigint[]): LeaderStep {
  if (attempt > state.config.maxAttempts) return failed(state);
  const { tid, user, leaderId, r, items } = state.config;
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
    outputs: [{ type: 'broadcast', msg: { kind: 'commit_request', tid, attempt, user, leaderId, r, items } }],
  };
}

function propose(state: LeaderState, proposal: number, sts: readonly bigint[]): LeaderStep {
  return {
    state: { ...state, phase: 'proposing', proposal, proposedSts: [...sts], responded: [], approvals: {} },
    outputs: [
      {
        type: 'broadcast',
        msg: {
          kind: 'propose',
          tid: state.config.tid,
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

function concludeProposal(state: LeaderState): LeaderStep {
  const revealed = Object.values(state.reveals);
  if (state.proposal === 1 && revealed.length >= state.config.commitQuorum) {
    return propose(state, 2, medianVector(revealed));
  }
  if (state.attempt >= state.config.maxAttempts) return failed(state);
  const { tid } = state.config;
  return {
    state: { ...state, phase: 'syncing' },
    outputs: [
      { type: 'broadcast', msg: { kind: 'sync_request', tid, attempt: state.attempt } },
      { type: 'full_sync', tid, attempt: state.attempt },
    ],
  };
}

function commonChecks(
  state: LeaderState,
  from: number,
  msg: { tid: unknown; attempt: unknown },
): RejectReason | null {
  if (state.phase === 'idle' || state.phase === 'submitted' || state.phase === 'failed') return 'closed';
  if (!state.config.members.includes(from)) return 'not_member';
  if (typeof msg !== 'object' || msg === null || !Number.isInteger(msg.attempt)) return 'malformed';
  if (msg.tid !== state.config.tid) return 'wrong_round';
  if (msg.attempt !== state.attempt) return 'wrong_attempt';
  return null;
}

function onCommit(state: LeaderState, from: number, msg: CommitReply): LeaderStep {
  const common = commonChecks(state, from, msg);
  if (common !== null) return reject(state, from, common);
  if (msg.kind !== 'commit' || bytes32Problem(msg.commitment) !== null) {
    return reject(state, from, 'malformed');
  }
  if (state.phase !== 'committing') return reject(state, from, 'unexpected');
  if (state.commitments[from] !== undefined) return reject(state, from, 'duplicate');
  const next: LeaderState = { ...state, commitments: { ...state.commitments, [from]: msg.commitment } };
  if (Object.keys(next.commitments).length >= state.config.commitQuorum) {
    return propose(next, 1, state.leaderSts!);
  }
  return { state: next, outputs: [] };
}

function verify(deps: LeaderDeps, from: number, sts: readonly bigint[], signature: Hex): boolean {
  try {
    return deps.verifySignature(from, sts, signature) === true;
  } catch {
    return false;
  }
}

function onReveal(state: LeaderState, from: number, msg: RevealReply, deps: LeaderDeps): LeaderStep {
  const common = commonChecks(state, from, msg);
  if (common !== null) return reject(state, from, common);
  if (
    msg.kind !== 'reveal' ||
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
  if (commitment(msg.sts, msg.nonce) !== committed) {
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

function settle(next: LeaderState): LeaderStep {
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
          entries: roundEntriesOf(next.config.items, sts),
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

function onTimeout(state: LeaderState, event: Extract<LeaderEvent, { type: 'timeout' }>): LeaderStep {
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

function checkStartVector(state: LeaderState, sts: unknown, what: string): void {
  if (!isVector(sts, state.config.items.length)) {
    throw new RoundError(
      'ROUND_INVALID_EVENT',
      `${what}: sts must be ${state.config.items.length} uint256 values, one per entry`,
    );
  }
}

/**
 * The leader's side of a round (SPEC 6) as a pure reducer over a vector of
 * values, one per entry. The leader is a member like the others: its service
 * loops every broadcast back to its own follower and feeds the answers in as
 * `commit`/`reveal` events with `from = leaderId`.
 *
 * - `start` broadcasts the commit request (attempt 1).
 * - `commit`s ({@link commitment}s of whole vectors) are collected until
 *   `2f+1`; then the leader's own vector is proposed (proposal 1).
 * - `reveal`s are checked against their commitment (a mismatch makes the
 *   sender a liar for the rest of the round); an approval needs a signature
 *   over the payment message of the proposed vector that
 *   `deps.verifySignature` accepts — a member gives one only when every entry
 *   is within tolerance of its own value.
 * - `threshold` approvals of the current proposal → `submit`.
 * - When the threshold can no longer be reached (or on timeout): with `2f+1`
 *   reveals after proposal 1, propose their per-entry median (proposal 2);
 *   otherwise a full sync (`sync_request` broadcast + `full_sync`), after
 *   which `synced` starts a new attempt; after `maxAttempts` attempts, `failed`.
 *
 * Messages from non-members, for another tid/attempt/proposal, replays,
 * malformed ones and ones that arrive in the wrong phase never change the
 * round: they produce a `rejected` output and are counted in `state.rejected`.
 *
 * @throws RoundError only on misuse by the caller: `start` twice, or a
 *   vector of the wrong length or with a non-`uint256` in `start`/`synced`.
 */
export function leaderReducer(state: LeaderState, event: LeaderEvent, deps: LeaderDeps): LeaderStep {
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
export function followerCommit(request: CommitRequest, mySts: readonly bigint[], nonce: Hex): CommitReply {
  if (mySts.length !== request.items.length) {
    throw new RoundError(
      'ROUND_INVALID_EVENT',
      `expected ${request.items.length} values, got ${mySts.length}`,
    );
  }
  return {
    kind: 'commit',
    tid: request.tid,
    attempt: request.attempt,
    commitment: commitment(mySts, nonce),
  };
}

/**
 * Step 2/3 for a member: reveal its vector and approve — `sign(proposal.sts)`,
 * its signature over the payment message — only if EVERY proposed
 * entry is within `tolBps` of its own value.
 */
export function followerRespond(
  proposal: Proposal,
  mySts: readonly bigint[],
  myNonce: Hex,
  tolBps: bigint,
  sign: (sts: readonly bigint[]) => Hex,
): RevealReply {
  const base = {
    kind: 'reveal',
    tid: proposal.tid,
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
export function serializeRoundState(state: LeaderState): string {
  return JSON.stringify(state, (_key, value: unknown) =>
    typeof value === 'bigint' ? { [BIGINT_TAG]: value.toString() } : value,
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The inverse of {@link serializeRoundState}, with a structural check.
 *
 * @throws RoundError (`ROUND_STATE_INVALID`) on text that is not a saved leader state.
 */
export function deserializeRoundState(text: string): LeaderState {
  const invalid = (why: string): RoundError =>
    new RoundError('ROUND_STATE_INVALID', `not a round state: ${why}`);
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
  if (!isRecord(value) || value.v !== 2) throw invalid('unknown version');
  const { config } = value;
  if (
    !isRecord(config) ||
    typeof config.tid !== 'string' ||
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
  return value as unknown as LeaderState;
}
