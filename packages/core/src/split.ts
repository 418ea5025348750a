import { UINT256_MAX, uintProblem } from './abi.js';
import { SplitError } from './errors.js';

/** Basis points in one whole. */
export const BPS = 10_000n;
/** Default provider share (90%, SPEC 8). */
export const DEFAULT_PROVIDER_BPS = 9_000n;
/** Default bonus of the paying keeper (0; the design note's alternative is 100 = 1%). */
export const DEFAULT_LEADER_BONUS_BPS = 0n;

export interface SplitInput {
  /** The payment amount in wei (`uint256`). */
  readonly amount: bigint;
  /**
   * Keepers that share the pool: the group minus the excluded ones (failed leaders and the idle set, each
   * once). At least 1 while the paying keeper is active (it is then one of them); may be 0 when it is idle.
   */
  readonly keeperCount: number;
  readonly providerBps?: bigint;
  readonly leaderBonusBps?: bigint;
  /**
   * The paying keeper is in the entry's idle set (SPEC 3 item 5): it is not among `keeperCount`, and its
   * bonus is withheld and goes into the pool. Default `false`.
   */
  readonly leaderIdle?: boolean;
}

export interface RewardSplit {
  /** Everything the provider is credited: its share plus the pool's remainder (`dust`). */
  readonly provider: bigint;
  /** The paying keeper's bonus, on top of its `perKeeper` share (0 when it is idle). */
  readonly leaderBonus: bigint;
  /** What each of the `keeperCount` non-excluded keepers gets (the paying keeper too). */
  readonly perKeeper: bigint;
  readonly keeperCount: number;
  /** The amount the keepers share: `amount - providerShare - leaderBonus` (an idle leader's bonus included). */
  readonly pool: bigint;
  /** `pool mod keeperCount` (the whole pool when `keeperCount` is 0), already included in `provider`. */
  readonly dust: bigint;
  /** The paying keeper's total: `leaderBonus + perKeeper` (0 when it is idle). */
  readonly leader: bigint;
}

/**
 * The reward split of docs/encoding.md: `provider = amount * providerBps / 10000`,
 * `bonus = amount * leaderBonusBps / 10000` to the paying keeper,
 * `pool = amount - provider - bonus` split equally among `keeperCount`
 * keepers, `pool mod keeperCount` to the provider. An idle paying keeper
 * (`leaderIdle`) gets no bonus: it stays in the pool; with no keeper left to
 * share (`keeperCount` 0, only possible when the leader is idle) the whole
 * pool goes to the provider. Exact:
 * `provider + leaderBonus + perKeeper * keeperCount == amount`.
 *
 * @throws SplitError on a negative or out-of-range amount, bps outside
 *   `[0, 10000]` or summing over 10000, or `keeperCount < 1` (`< 0` with an idle leader).
 */
export function splitReward(input: SplitInput): RewardSplit {
  const { amount, keeperCount } = input;
  const providerBps = input.providerBps ?? DEFAULT_PROVIDER_BPS;
  const leaderBonusBps = input.leaderBonusBps ?? DEFAULT_LEADER_BONUS_BPS;
  const amountProblem = uintProblem(amount, UINT256_MAX);
  if (amountProblem !== null) {
    throw new SplitError('SPLIT_INVALID_AMOUNT', `amount: ${amountProblem}`, { field: 'amount' });
  }
  for (const [field, bps] of [
    ['providerBps', providerBps],
    ['leaderBonusBps', leaderBonusBps],
  ] as const) {
    const problem = uintProblem(bps, BPS);
    if (problem !== null) throw new SplitError('SPLIT_INVALID_BPS', `${field}: ${problem}`, { field });
  }
  if (providerBps + leaderBonusBps > BPS) {
    throw new SplitError(
      'SPLIT_INVALID_BPS',
      `providerBps + leaderBonusBps must not exceed ${BPS}, got ${providerBps + leaderBonusBps}`,
      { providerBps: String(providerBps), leaderBonusBps: String(leaderBonusBps) },
    );
  }
  const leaderIdle = input.leaderIdle ?? false;
  const minCount = leaderIdle ? 0 : 1;
  if (!Number.isSafeInteger(keeperCount) || keeperCount < minCount) {
    throw new SplitError(
      'SPLIT_INVALID_KEEPER_COUNT',
      `keeperCount must be an integer >= ${minCount}, got ${keeperCount}`,
      {
        keeperCount,
      },
    );
  }
  const providerShare = (amount * providerBps) / BPS;
  const bonus = (amount * leaderBonusBps) / BPS;
  const leaderBonus = leaderIdle ? 0n : bonus;
  const pool = amount - providerShare - leaderBonus;
  const count = BigInt(keeperCount);
  const perKeeper = count === 0n ? 0n : pool / count;
  const dust = count === 0n ? pool : pool % count;
  return {
    provider: providerShare + dust,
    leaderBonus,
    perKeeper,
    keeperCount,
    pool,
    dust,
    leader: leaderIdle ? 0n : leaderBonus + perKeeper,
  };
}

/**
 * The keeper ids of an idle-set bitmap: bit i = `members[i]` (member indices in group order, as the
 * `signers` list and the contract's `PaymentMade.idle`).
 *
 * @throws SplitError when `idle` is negative or sets a bit at or above `members.length`.
 */
export function idleMembers(members: readonly number[], idle: bigint): number[] {
  if (typeof idle !== 'bigint' || idle < 0n || idle >> BigInt(members.length) !== 0n) {
    throw new SplitError(
      'SPLIT_INVALID_IDLE_SET',
      `idle must be a bitmap below 2^${members.length} (one bit per member), got ${String(idle)}`,
      { idle: String(idle), members: members.length },
    );
  }
  return members.filter((_, i) => (idle >> BigInt(i)) & 1n);
}

export interface PaymentSplitInput {
  readonly amount: bigint;
  /** The group's keeper ids in member-index order (the order of `signers` and of the `idle` bits). */
  readonly members: readonly number[];
  /** The paying keeper (a member). */
  readonly leaderId: number;
  /** The failed keepers: those ranked ahead of the leader for this entry (members, the leader not among them). */
  readonly failed: readonly number[];
  /** The entry's idle set, bit i = `members[i]` (default `0n`). */
  readonly idle?: bigint;
  readonly providerBps?: bigint;
  readonly leaderBonusBps?: bigint;
}

export interface PaymentSplit {
  /** The split itself ({@link splitReward} over the active keepers). */
  readonly split: RewardSplit;
  /** What each member is credited for this entry, by keeper id (every member present; the leader's bonus included). */
  readonly credits: ReadonlyMap<number, bigint>;
  /** Excluded keeper ids (failed ∪ idle, each once), in member order. */
  readonly excluded: readonly number[];
  /** The idle keeper ids, in member order. */
  readonly idle: readonly number[];
  readonly leaderIdle: boolean;
}

/**
 * The contract's split of one paid entry, per member (SPEC 8 and 3 item 5): the keepers excluded from the
 * pool are the failed ones and the idle set (each counted once); each active keeper gets `perKeeper`, the
 * leader its bonus on top unless it is idle, excluded keepers 0. Exact:
 * `split.provider + Σ credits == amount`.
 *
 * @throws SplitError as {@link splitReward}, on an idle set outside the group (`SPLIT_INVALID_IDLE_SET`),
 *   a leader that is not a member, or a failed keeper that is not a member or is the leader
 *   (`SPLIT_INVALID_MEMBERS`).
 */
export function splitPayment(input: PaymentSplitInput): PaymentSplit {
  const { members, leaderId } = input;
  const idle = idleMembers(members, input.idle ?? 0n);
  if (!members.includes(leaderId)) {
    throw new SplitError('SPLIT_INVALID_MEMBERS', `leader ${leaderId} is not a member`, { leaderId });
  }
  for (const id of input.failed) {
    if (id === leaderId || !members.includes(id)) {
      throw new SplitError(
        'SPLIT_INVALID_MEMBERS',
        `failed keeper ${id} is ${id === leaderId ? 'the leader' : 'not a member'}`,
        { keeperId: id },
      );
    }
  }
  const out = new Set([...input.failed, ...idle]);
  const excluded = members.filter((id) => out.has(id));
  const leaderIdle = idle.includes(leaderId);
  const split = splitReward({
    amount: input.amount,
    keeperCount: members.length - excluded.length,
    leaderIdle,
    ...(input.providerBps === undefined ? {} : { providerBps: input.providerBps }),
    ...(input.leaderBonusBps === undefined ? {} : { leaderBonusBps: input.leaderBonusBps }),
  });
  const credits = new Map<number, bigint>();
  for (const id of members) {
    const share = out.has(id) ? 0n : split.perKeeper;
    credits.set(id, id === leaderId ? share + split.leaderBonus : share);
  }
  return { split, credits, excluded, idle, leaderIdle };
}
