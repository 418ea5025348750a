import type { Address, Hex } from 'viem';
import { bytes32Problem, UINT32_MAX, UINT256_MAX, uintProblem } from './abi.js';
import { RoundError } from './errors.js';
import { commitment } from './message.js';
import { tid as tidOf } from './tid.js';
import { approveThreshold, commitQuorum, median, withinTolerance } from './tolerance.js';

// ---------------------------------------------------------------------------
// Wire messages (what the service puts on gRPC; `from` is the authenticated sender)
// ---------------------------------------------------------------------------

/** Step 1: the leader asks every member for a commitment. */
export interface CommitRequest {
  readonly kind: 'commit_request';
  readonly tid: Hex;
  readonly attempt: number;
  readonly user: Address;
  readonly pid: Address;
  readonly ts: bigint;
  readonly te: bigint;
  readonly leaderId: number;
  readonly r: number;
}

/** Step 2/3: the leader's value; `proposal` 1 is its own, 2 the median re-proposal. */
export interface Proposal {
  readonly kind: 'propose';
  readonly tid: Hex;
  readonly attempt: number;
  readonly proposal: number;
  readonly st: bigint;
  readonly median: boolean;
}

/** Step 4: the leader's error broadcast: exchange full records for `[ts, te)`, then a new attempt starts. */
export interface SyncRequest {
  readonly kind: 'sync_request';
  readonly tid: Hex;
  readonly attempt: number;
}

export type LeaderMessage = CommitRequest | Proposal | SyncRequest;

/** A member's commitment to its `st_i`. */
export interface CommitReply {
  readonly kind: 'commit';
  readonly tid: Hex;
  readonly attempt: number;
  readonly commitment: Hex;
}

/** A member's reveal of `st_i` and, when it approves, its BLS signature over the payment message. */
export interface RevealReply {
  readonly kind: 'reveal';
  readonly tid: Hex;
  readonly attempt: number;
  readonly proposal: number;
  readonly st: bigint;
  readonly nonce: Hex;
  readonly approve: boolean;
  readonly signature?: Hex;
}

// ---------------------------------------------------------------------------
// Leader state, events, outputs
// ---------------------------------------------------------------------------

export type LeaderPhase = 'idle' | 'committing' | 'proposing' | 'syncing' | 'submitted' | 'failed';

export interface RoundConfig {
  readonly tid: Hex;
  readonly user: Address;
  readonly pid: Address;
  readonly ts: bigint;
  readonly te: bigint;
  readonly leaderId: number;
  /** The leader's 1-based position. */
  readonly r: number;
  /** Keeper ids of the group, the leader included, ascending. */
  readonly members: readonly number[];
  /**
   * Commitments needed before proposing: `max(2f+1, threshold)`. A configured
   * threshold above `2f+1` could never be met by `2f+1` committed members,
   * since members that commit after the proposal are refused.
   */
  readonly commitQuorum: number;
  /** Signatures needed to submit (`f+1` unless configured). */
  readonly threshold: number;
  /** Commit/propose attempts before the round fails (full syncs are `maxAttempts - 1` at most). */
  readonly maxAttempts: number;
}

/** The whole leader state: plain data (bigints are encoded by {@link serializeRoundState}). */
export interface LeaderState {
  readonly v: 1;
  readonly config: RoundConfig;
  readonly phase: LeaderPhase;
  /** 1-based attempt; 0 before `start`. */
  readonly attempt: number;
  /** 0 before the first proposal of the attempt, then 1 (own value) or 2 (median). */
  readonly proposal: number;
  /** The leader's own value for this attempt, proposed first. */
  readonly leaderSt: bigint | null;
  /** The value of the current proposal. */
  readonly proposedSt: bigint | null;
  /** Member id → commitment, this attempt. */
  readonly commitments: Readonly<Record<string, Hex>>;
  /** Member id → revealed value (checked against its commitment), this attempt. */
  readonly reveals: Readonly<Record<string, bigint>>;
  /** Members that answered the current proposal (approving or not). */
  readonly responded: readonly number[];
  /** Member id → signature over the current proposal's payment message. */
  readonly approvals: Readonly<Record<string, Hex>>;
  /** Members caught revealing a value that does not match their commitment (whole round). */
  readonly liars: readonly number[];
  /** Rejected messages by reason (whole round). */
  readonly rejected: Readonly<Record<string, number>>;
}

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

export type LeaderEvent =
  /** Begin the round; `st` is the leader's own value, proposed first. */
  | { readonly type: 'start'; readonly st: bigint }
  | { readonly type: 'commit'; readonly from: number; readonly msg: CommitReply }
  | { readonly type: 'reveal'; readonly from: number; readonly msg: RevealReply }
  /**
   * A timer fired. `attempt`/`phase`/`proposal`, when given, name what the
   * timer was armed for; a timer that no longer matches is ignored.
   */
  | {
      readonly type: 'timeout';
      readonly attempt?: number;
      readonly phase?: LeaderPhase;
      readonly proposal?: number;
    }
  /** The full sync finished; `st` is the leader's value recomputed over the union of records. */
  | { readonly type: 'synced'; readonly st: bigint };

export type LeaderOutput =
  | { readonly type: 'broadcast'; readonly msg: LeaderMessage }
  | { readonly type: 'full_sync'; readonly tid: Hex; readonly attempt: number }
  | {
      readonly type: 'submit';
      readonly st: bigint;
      /** Signer ids ascending; `signatures[i]` is `signers[i]`'s. */
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
   * message for `st` of this round. Must be pure (BLS verification is); a
   * throw counts as an invalid signature.
   */
  readonly verifySignature: (from: number, st: bigint, signature: Hex) => boolean;
}

export interface LeaderRoundInput {
  readonly user: Address;
  readonly pid: Address;
  readonly ts: bigint;
  readonly te: bigint;
  readonly leaderId: number;
  readonly r: number;
  readonly members: readonly number[];
  /** Signatures needed to submit; default `f+1`. */
  readonly threshold?: number;
  /** Default {@link DEFAULT_MAX_ATTEMPTS}. */
  readonly maxAttempts?: number;
}

/** Commit/propose attempts of one round: the first plus two after a full sync or a commit timeout. */
export const DEFAULT_MAX_ATTEMPTS = 3;

const PHASES: readonly LeaderPhase[] = ['idle', 'committing', 'proposing', 'syncing', 'submitted', 'failed'];

function roundError(code: string, message: string, details: Record<string, unknown> = {}): RoundError {
  return new RoundError(code, message, details);
}

/**
 * A new leader round in phase `idle` (feed it `{ type: 'start' }`). The tid is
 * computed from the inputs.
 *
 * @throws RoundError on an invalid group, a leader outside it, a bad
 *   threshold or attempt bound; EncodingError on values the tid cannot encode.
 */
export function createLeaderRound(input: LeaderRoundInput): LeaderState {
  const members = [...input.members];
  if (members.length === 0) throw roundError('ROUND_INVALID_CONFIG', 'the keeper group must not be empty');
  for (const id of members) {
    if (!Number.isInteger(id) || id < 0 || BigInt(id) > UINT32_MAX) {
      throw roundError('ROUND_INVALID_CONFIG', `keeper id must be a uint32, got ${String(id)}`, {
        keeperId: id,
      });
    }
  }
  if (new Set(members).size !== members.length) {
    throw roundError('ROUND_INVALID_CONFIG', 'duplicate keeper id in the group');
  }
  if (!members.includes(input.leaderId)) {
    throw roundError('ROUND_INVALID_CONFIG', `leader ${input.leaderId} is not in the group`, {
      leaderId: input.leaderId,
    });
  }
  if (typeof input.ts === 'bigint' && typeof input.te === 'bigint' && input.te <= input.ts) {
    throw roundError('ROUND_INVALID_CONFIG', `te (${input.te}) must be after ts (${input.ts})`);
  }
  const maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw roundError('ROUND_INVALID_CONFIG', `maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  }
  let threshold: number;
  try {
    threshold = approveThreshold(members.length, input.threshold);
  } catch (err) {
    throw new RoundError('ROUND_INVALID_CONFIG', (err as Error).message, { threshold: input.threshold });
  }
  const config: RoundConfig = {
    tid: tidOf(input),
    user: input.user,
    pid: input.pid,
    ts: input.ts,
    te: input.te,
    leaderId: input.leaderId,
    r: input.r,
    members: members.sort((a, b) => a - b),
    commitQuorum: Math.max(commitQuorum(members.length), threshold),
    threshold,
    maxAttempts,
  };
  return {
    v: 1,
    config,
    phase: 'idle',
    attempt: 0,
    proposal: 0,
    leaderSt: null,
    proposedSt: null,
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

function isHexString(v: unknown): v is Hex {
  return typeof v === 'string' && /^0x(?:[0-9a-fA-F]{2})+$/.test(v);
}

function reject(state: LeaderState, from: number, reason: RejectReason): LeaderStep {
  return {
    state: { ...state, rejected: { ...state.rejected, [reason]: (state.rejected[reason] ?? 0) + 1 } },
    outputs: [{ type: 'rejected', from, reason }],
  };
}

function beginAttempt(state: LeaderState, attempt: number, st: bigint): LeaderStep {
  if (attempt > state.config.maxAttempts) {
    return { state: { ...state, phase: 'failed' }, outputs: [{ type: 'failed', reason: 'no_quorum' }] };
  }
  const { tid, user, pid, ts, te, leaderId, r } = state.config;
  return {
    state: {
      ...state,
      phase: 'committing',
      attempt,
      proposal: 0,
      leaderSt: st,
      proposedSt: null,
      commitments: {},
      reveals: {},
      responded: [],
      approvals: {},
    },
    outputs: [
      { type: 'broadcast', msg: { kind: 'commit_request', tid, attempt, user, pid, ts, te, leaderId, r } },
    ],
  };
}

function propose(state: LeaderState, proposal: number, st: bigint): LeaderStep {
  return {
    state: { ...state, phase: 'proposing', proposal, proposedSt: st, responded: [], approvals: {} },
    outputs: [
      {
        type: 'broadcast',
        msg: {
          kind: 'propose',
          tid: state.config.tid,
          attempt: state.attempt,
          proposal,
          st,
          median: proposal === 2,
        },
      },
    ],
  };
}

/** No threshold for the current proposal: re-propose the median, else full sync, else fail. */
function concludeProposal(state: LeaderState): LeaderStep {
  const revealed = Object.values(state.reveals);
  if (state.proposal === 1 && revealed.length >= state.config.commitQuorum) {
    return propose(state, 2, median(revealed));
  }
  if (state.attempt >= state.config.maxAttempts) {
    return { state: { ...state, phase: 'failed' }, outputs: [{ type: 'failed', reason: 'no_quorum' }] };
  }
  const { tid } = state.config;
  return {
    state: { ...state, phase: 'syncing' },
    outputs: [
      { type: 'broadcast', msg: { kind: 'sync_request', tid, attempt: state.attempt } },
      { type: 'full_sync', tid, attempt: state.attempt },
    ],
  };
}

function onCommit(state: LeaderState, from: number, msg: CommitReply): LeaderStep {
  const common = commonChecks(state, from, msg);
  if (common !== null) return reject(state, from, common);
  if (msg.kind !== 'commit' || bytes32Problem(msg.commitment) !== null)
    return reject(state, from, 'malformed');
  if (state.phase !== 'committing') return reject(state, from, 'unexpected');
  if (state.commitments[from] !== undefined) return reject(state, from, 'duplicate');
  const next: LeaderState = { ...state, commitments: { ...state.commitments, [from]: msg.commitment } };
  if (Object.keys(next.commitments).length >= state.config.commitQuorum) {
    return propose(next, 1, state.leaderSt!);
  }
  return { state: next, outputs: [] };
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

function verify(deps: LeaderDeps, from: number, st: bigint, signature: Hex): boolean {
  try {
    return deps.verifySignature(from, st, signature) === true;
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
    !isUint256(msg.st) ||
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
  if (commitment(msg.st, msg.nonce) !== committed) {
    const caught = reject(state, from, 'commitment_mismatch');
    const next = { ...caught.state, liars: [...state.liars, from] };
    const step = settle(next);
    return { state: step.state, outputs: [...caught.outputs, ...step.outputs] };
  }
  let approvals = state.approvals;
  if (msg.approve) {
    if (msg.signature === undefined || !isHexString(msg.signature)) {
      return reject(state, from, 'missing_signature');
    }
    if (!verify(deps, from, state.proposedSt!, msg.signature)) return reject(state, from, 'bad_signature');
    approvals = { ...approvals, [from]: msg.signature };
  }
  const next: LeaderState = {
    ...state,
    reveals: { ...state.reveals, [from]: msg.st },
    responded: [...state.responded, from],
    approvals,
  };
  return settle(next);
}

/** After an answer to the current proposal: submit, give up on it, or keep waiting. */
function settle(next: LeaderState): LeaderStep {
  const { approvals } = next;
  const approved = Object.keys(approvals).length;
  if (approved >= next.config.threshold) {
    const signers = Object.keys(approvals)
      .map(Number)
      .sort((a, b) => a - b);
    return {
      state: { ...next, phase: 'submitted' },
      outputs: [
        { type: 'submit', st: next.proposedSt!, signers, signatures: signers.map((id) => approvals[id]!) },
      ],
    };
  }
  // Members that committed and may still answer this proposal.
  const outstanding = Object.keys(next.commitments)
    .map(Number)
    .filter((id) => !next.responded.includes(id) && !next.liars.includes(id)).length;
  if (approved + outstanding >= next.config.threshold) return { state: next, outputs: [] };
  // The threshold is out of reach. Proposal 1 still waits for reveals while it
  // has fewer than 2f+1 and more may come: the median needs them.
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
      // Too few commitments: members are missing, not disagreeing, so no full
      // sync; ask again in a new attempt (bounded by maxAttempts).
      return beginAttempt(state, state.attempt + 1, state.leaderSt!);
    case 'proposing':
      return concludeProposal(state);
    case 'syncing':
      // The sync did not finish in time: start again with the value we have.
      return beginAttempt(state, state.attempt + 1, state.leaderSt!);
    default:
      return { state, outputs: [] };
  }
}

/**
 * The leader's side of a consensus round (SPEC 6) as a pure reducer. The
 * leader is a member like the others: its service loops every broadcast back
 * to its own follower and feeds the answers in as `commit`/`reveal` events
 * with `from = leaderId`.
 *
 * - `start` broadcasts the commit request (attempt 1).
 * - `commit`s are collected until `2f+1`; then the leader's own value is
 *   proposed (proposal 1).
 * - `reveal`s are checked against their commitment (a mismatch makes the
 *   sender a liar for the rest of the round); an approval needs a signature
 *   that `deps.verifySignature` accepts.
 * - `threshold` approvals of the current proposal → `submit`.
 * - When the threshold can no longer be reached (or on timeout): with `2f+1`
 *   reveals after proposal 1, propose their median (proposal 2); otherwise a
 *   full sync (`sync_request` broadcast + `full_sync`), after which `synced`
 *   starts a new attempt; after `maxAttempts` attempts, `failed`.
 *
 * Messages from non-members, for another tid/attempt/proposal, replays,
 * malformed ones and ones that arrive in the wrong phase never change the
 * round: they produce a `rejected` output and are counted in `state.rejected`.
 *
 * @throws RoundError only on misuse by the caller: `start` twice, or a
 *   non-`uint256` value in `start`/`synced`.
 */
export function leaderReducer(state: LeaderState, event: LeaderEvent, deps: LeaderDeps): LeaderStep {
  switch (event.type) {
    case 'start':
      if (state.phase !== 'idle') {
        throw roundError('ROUND_ALREADY_STARTED', `round already started (phase ${state.phase})`, {
          phase: state.phase,
        });
      }
      if (!isUint256(event.st)) throw roundError('ROUND_INVALID_EVENT', 'start: st must be a uint256');
      return beginAttempt(state, 1, event.st);
    case 'commit':
      return onCommit(state, event.from, event.msg);
    case 'reveal':
      return onReveal(state, event.from, event.msg, deps);
    case 'timeout':
      return onTimeout(state, event);
    case 'synced':
      if (!isUint256(event.st)) throw roundError('ROUND_INVALID_EVENT', 'synced: st must be a uint256');
      if (state.phase !== 'syncing') return { state, outputs: [] };
      return beginAttempt(state, state.attempt + 1, event.st);
    default:
      throw roundError(
        'ROUND_INVALID_EVENT',
        `unknown event type ${String((event as { type: unknown }).type)}`,
      );
  }
}

// ---------------------------------------------------------------------------
// Follower
// ---------------------------------------------------------------------------

/**
 * Step 1 for a member: commit to its own `st_i` with a fresh random 32-byte
 * `nonce` (keep both until the proposal arrives).
 */
export function followerCommit(request: CommitRequest, stI: bigint, nonce: Hex): CommitReply {
  return { kind: 'commit', tid: request.tid, attempt: request.attempt, commitment: commitment(stI, nonce) };
}

/**
 * Step 2/3 for a member: reveal `st_i` and, if the proposal is within
 * `tolBps` of it, approve with `sign(proposal.st)` — the member's BLS
 * signature over the payment message for the proposed value.
 */
export function followerRespond(
  proposal: Proposal,
  myStI: bigint,
  myNonce: Hex,
  tolBps: bigint,
  sign: (st: bigint) => Hex,
): RevealReply {
  const base = {
    kind: 'reveal',
    tid: proposal.tid,
    attempt: proposal.attempt,
    proposal: proposal.proposal,
  } as const;
  if (!withinTolerance(proposal.st, myStI, tolBps)) {
    return { ...base, st: myStI, nonce: myNonce, approve: false };
  }
  return { ...base, st: myStI, nonce: myNonce, approve: true, signature: sign(proposal.st) };
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
    throw new RoundError('ROUND_STATE_INVALID', `not a round state: ${(err as Error).message}`);
  }
  const invalid = (why: string): RoundError =>
    new RoundError('ROUND_STATE_INVALID', `not a round state: ${why}`);
  if (!isRecord(value) || value.v !== 1) throw invalid('unknown version');
  const { config } = value;
  if (!isRecord(config) || typeof config.tid !== 'string' || !Array.isArray(config.members)) {
    throw invalid('bad config');
  }
  for (const key of ['ts', 'te'] as const)
    if (typeof config[key] !== 'bigint') throw invalid(`bad config.${key}`);
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
