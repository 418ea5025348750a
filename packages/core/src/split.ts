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
  /** Keepers that share the pool: the group minus the excluded ones, the paying keeper included (>= 1). */
  readonly keeperCount: number;
  readonly providerBps?: bigint;
  readonly leaderBonusBps?: bigint;
}

export interface RewardSplit {
  /** Everything the provider is credited: its share plus the pool's remainder (`dust`). */
  readonly provider: bigint;
  /** The paying keeper's bonus, on top of its `perKeeper` share. */
  readonly leaderBonus: bigint;
  /** What each of the `keeperCount` non-excluded keepers gets (the paying keeper too). */
  readonly perKeeper: bigint;
  readonly keeperCount: number;
  /** The amount the keepers share: `amount - providerShare - leaderBonus`. */
  readonly pool: bigint;
  /** `pool mod keeperCount`, already included in `provider`. */
  readonly dust: bigint;
  /** The paying keeper's total: `leaderBonus + perKeeper`. */
  readonly leader: bigint;
}

/**
 * The reward split of docs/encoding.md: `provider = amount * providerBps / 10000`,
 * `bonus = amount * leaderBonusBps / 10000` to the paying keeper,
 * `pool = amount - provider - bonus` split equally among `keeperCount`
 * keepers, `pool mod keeperCount` to the provider. Exact:
 * `provider + leaderBonus + perKeeper * keeperCount == amount`.
 *
 * @throws SplitError on a negative or out-of-range amount, bps outside
 *   `[0, 10000]` or summing over 10000, or `keeperCount < 1`.
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
  if (!Number.isSafeInteger(keeperCount) || keeperCount < 1) {
    throw new SplitError(
      'SPLIT_INVALID_KEEPER_COUNT',
      `keeperCount must be an integer >= 1, got ${keeperCount}`,
      {
        keeperCount,
      },
    );
  }
  const providerShare = (amount * providerBps) / BPS;
  const leaderBonus = (amount * leaderBonusBps) / BPS;
  const pool = amount - providerShare - leaderBonus;
  const count = BigInt(keeperCount);
  const perKeeper = pool / count;
  const dust = pool % count;
  return {
    provider: providerShare + dust,
    leaderBonus,
    perKeeper,
    keeperCount,
    pool,
    dust,
    leader: leaderBonus + perKeeper,
  };
}
