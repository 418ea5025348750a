import { describe, expect, it } from 'vitest';
import * as core from './index.js';

describe('@whitepay/core public API', () => {
  it('exports one entry point per concern', () => {
    const expected = [
      'spaceTime',
      'amountFor',
      'normalizeRecords',
      'splitReward',
      'splitPayment',
      'idleMembers',
      'keeperRankHash',
      'rankKeepers',
      'leaderAt',
      'windowOf',
      'nextWindowFor',
      'tid',
      'tidPosition',
      'commitment',
      'roundId',
      'roundEntriesOf',
      'medianVector',
      'MAX_ROUND_ENTRIES',
      'batchPaymentMessage',
      'encodeBatchEntries',
      'withinTolerance',
      'median',
      'faultTolerance',
      'commitQuorum',
      'approveThreshold',
      'createLeaderRound',
      'leaderReducer',
      'followerCommit',
      'followerRespond',
      'serializeRoundState',
      'deserializeRoundState',
      'SpaceTimeError',
      'SplitError',
      'ScheduleError',
      'EncodingError',
      'ToleranceError',
      'RoundError',
      'UINT64_MAX',
    ];
    for (const name of expected) expect(core).toHaveProperty(name);
    // One round API: the list reducer's old batch names are gone.
    for (const gone of [
      'batchLeaderReducer',
      'createBatchLeaderRound',
      'batchCommitment',
      'batchFollowerRespond',
    ])
      expect(core).not.toHaveProperty(gone);
  });

  it('errors are WhitePayErrors with a stable code and kind', () => {
    const err = new core.RoundError('ROUND_X', 'msg', { a: 1 });
    expect(err.toJSON()).toEqual({
      code: 'ROUND_X',
      kind: 'invalid_argument',
      message: 'msg',
      details: { a: 1 },
    });
    expect(err.name).toBe('RoundError');
    expect(err).toBeInstanceOf(Error);
  });

  it('exposes the ABI bounds', () => {
    expect(core.UINT8_MAX).toBe(255n);
    expect(core.UINT32_MAX).toBe(4294967295n);
    expect(core.UINT256_MAX).toBe(2n ** 256n - 1n);
  });
});
