import { UINT128_MAX } from './abi.js';
import { EncodingError } from './errors.js';
import { idleMembers } from './split.js';

/**
 * The idle-set rule of SPEC 3 item 5 ("idle keepers are not paid"), for one
 * entry `(user, pid, [ts, te))` of a round.
 *
 * A keeper `k` is *active* when another member holds, re-verified, a record
 * of `k` for that `(user, pid)` inside the interval with a verified proof
 * (`space > 0`: a record without a proof could be made up by `k` itself).
 * With its commitment each member vouches, naming one record per keeper it
 * holds; the leader checks one vouched record per keeper it counts active
 * (fetching and re-verifying it when it does not hold it), proposes the idle
 * set (the members no checked vouch covers) with the reference that vouches
 * for each active one, and the signed entry commits to the idle set. A member
 * signs only when every reference verifies and the idle set names no keeper
 * whose records it holds itself. The contract excludes the idle set from the
 * keepers' split as it excludes failed leaders.
 *
 * A group of one has no other member to vouch: its keeper is active, with
 * an empty idle set and no reference (a single keeper is trusted with
 * everything anyway; counting it idle would only pay its share to the
 * provider).
 */

/** One record, by its keeper and block (the store's key within one `(user, pid)`). */
export interface RecordRef {
  readonly keeperId: number;
  readonly block: bigint;
}

/** One member's vouches for one entry: the records of other keepers it holds. */
export interface VouchesFrom {
  readonly from: number;
  readonly refs: readonly RecordRef[];
}

/** An entry's idle set and, for every other member, the record that vouches for it (member order). */
export interface IdleDecision {
  /** Keeper ids no checked vouch covers, in member order. */
  readonly idle: readonly number[];
  /** One reference per active member, in member order. */
  readonly active: readonly RecordRef[];
}

/** Why a member refuses an entry's idle set (typed, counted by the coordinator). */
export type IdleProblem =
  /** A bit outside the group, a reference to a non-member or to an idle one, a member neither idle nor referenced, or one referenced twice. */
  | 'IDLE_SET_MALFORMED'
  /** The idle set names a keeper whose verified records this member holds itself. */
  | 'IDLE_SET_NAMES_HELD_KEEPER'
  /** A reference does not name a verified record (not held, and not obtainable re-verified). */
  | 'IDLE_REF_UNVERIFIED';

/**
 * Per member, the distinct records other members vouch for, in the order
 * the vouches came (a member's vouch for itself counts for nobody and is
 * dropped, as is one naming a non-member).
 */
export function vouchCandidates(
  members: readonly number[],
  replies: readonly VouchesFrom[],
): Map<number, RecordRef[]> {
  const memberSet = new Set(members);
  const out = new Map<number, RecordRef[]>(members.map((m) => [m, []]));
  for (const reply of replies) {
    if (!memberSet.has(reply.from)) continue;
    for (const ref of reply.refs) {
      if (ref.keeperId === reply.from || !memberSet.has(ref.keeperId)) continue;
      const list = out.get(ref.keeperId)!;
      if (!list.some((r) => r.block === ref.block)) list.push({ keeperId: ref.keeperId, block: ref.block });
    }
  }
  return out;
}

/**
 * The leader's decision for one entry: each member is active with the first
 * of its vouched records that `verify` confirms (checked one after another,
 * so a false vouch costs one check and gains nothing), idle when none does.
 */
export async function decideIdle(
  members: readonly number[],
  replies: readonly VouchesFrom[],
  verify: (ref: RecordRef) => Promise<boolean>,
): Promise<IdleDecision> {
  // A group of one has nobody to vouch: its keeper is counted active (see checkIdleProposal).
  if (members.length === 1) return { idle: [], active: [] };
  const candidates = vouchCandidates(members, replies);
  const idle: number[] = [];
  const active: RecordRef[] = [];
  for (const k of members) {
    let found: RecordRef | null = null;
    for (const ref of candidates.get(k)!) {
      if (await verify(ref)) {
        found = ref;
        break;
      }
    }
    if (found) active.push(found);
    else idle.push(k);
  }
  return { idle, active };
}

/** The idle set as the contract takes it: bit `i` for the member at index `i` of the group (as `signers`). */
export function idleBits(members: readonly number[], idle: readonly number[]): bigint {
  let bits = 0n;
  for (const k of idle) {
    const i = members.indexOf(k);
    if (i < 0) throw new EncodingError('ENCODING_INVALID_VALUE', `idle keeper ${k} is not a member`);
    bits |= 1n << BigInt(i);
  }
  if (bits > UINT128_MAX) throw new EncodingError('ENCODING_INVALID_VALUE', 'idle set beyond 128 members');
  return bits;
}

export type IdleCheck =
  | { readonly ok: true; readonly idle: readonly number[] }
  | { readonly ok: false; readonly reason: IdleProblem; readonly keeperId?: number };

/**
 * A member's check of one entry's proposed idle set, before it signs: the
 * bitmap names members only; every member is either idle or referenced
 * exactly once, by a reference to its own record; and no idle keeper other
 * than this member is one whose records it holds (`held`: the keepers it
 * vouched for). The references still have to be verified
 * ({@link IdleProblem} `IDLE_REF_UNVERIFIED` is the caller's to report).
 */
export function checkIdleProposal(input: {
  readonly members: readonly number[];
  readonly self: number;
  readonly bits: bigint;
  readonly active: readonly RecordRef[];
  readonly held: ReadonlySet<number>;
}): IdleCheck {
  let idle: number[];
  try {
    idle = idleMembers(input.members, input.bits);
  } catch {
    return { ok: false, reason: 'IDLE_SET_MALFORMED' };
  }
  if (input.members.length === 1)
    return idle.length === 0 && input.active.length === 0
      ? { ok: true, idle }
      : { ok: false, reason: 'IDLE_SET_MALFORMED' };
  const idleSet = new Set(idle);
  const referenced = new Set<number>();
  for (const ref of input.active) {
    if (!input.members.includes(ref.keeperId) || idleSet.has(ref.keeperId) || referenced.has(ref.keeperId))
      return { ok: false, reason: 'IDLE_SET_MALFORMED', keeperId: ref.keeperId };
    referenced.add(ref.keeperId);
  }
  if (referenced.size + idleSet.size !== input.members.length)
    return { ok: false, reason: 'IDLE_SET_MALFORMED' };
  for (const k of idle) {
    if (k !== input.self && input.held.has(k))
      return { ok: false, reason: 'IDLE_SET_NAMES_HELD_KEEPER', keeperId: k };
  }
  return { ok: true, idle };
}
