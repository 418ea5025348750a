import { WhitePayError } from '@whitepay/base';
import { UPKEEPING_ERROR_KINDS, UpkeepingError, type UpkeepingErrorName } from '@whitepay/contracts';
import { HttpRequestError } from 'viem';
import { describe, expect, it } from 'vitest';
import { CliError, EXIT, REVERT_MESSAGES, toFailure, usageError } from './errors.js';

describe('toFailure', () => {
  it('has a one-line human message for every Solidity error the contracts know', () => {
    const names = Object.keys(UPKEEPING_ERROR_KINDS) as UpkeepingErrorName[];
    const missing = names.filter((n) => REVERT_MESSAGES[n] === undefined);
    expect(missing).toEqual([]);
    for (const name of names) {
      const f = toFailure(new UpkeepingError(name, [1n, 2n, 3n]));
      expect(f).toMatchObject({ exitCode: EXIT.rejected, code: name });
      expect(f.message).not.toContain('\n');
      expect(f.message.length).toBeGreaterThan(10);
    }
  });

  it('names the reason of a refused payment', () => {
    const pid = '0x000000000000000000000000000000000000dEaD';
    const f = toFailure(new UpkeepingError('UpkeepingPaymentRefused', [pid, 10n, 12n, 1]));
    expect(f).toMatchObject({ exitCode: EXIT.rejected, code: 'UpkeepingPaymentRefused' });
    expect(f.message).toBe(
      `payment of ${pid} over [10, 12) refused: ts is not the end of the last payment (already paid, or a wrong ts)`,
    );
    expect(new UpkeepingError('UpkeepingPaymentRefused', [pid, 10n, 12n, 1]).kind).toBe('conflict');
  });

  it('keeps the arguments in the message', () => {
    const f = toFailure(new UpkeepingError('UpkeepingInsufficientFunds', [5n, 7n]));
    expect(f.message).toBe('not enough funds: 5 wei available, 7 wei needed');
  });

  it('maps an unreachable endpoint to 69, usage to 64, anything else to 1', () => {
    const down = new HttpRequestError({ url: 'http://127.0.0.1:9/', body: {} });
    expect(toFailure(down)).toMatchObject({ exitCode: EXIT.unavailable, code: 'CHAIN_UNAVAILABLE' });
    expect(toFailure(new WhitePayError('CHAIN_ERROR', 'x', { cause: down })).exitCode).toBe(EXIT.unavailable);
    expect(toFailure(usageError('nope'))).toMatchObject({
      exitCode: EXIT.usage,
      code: 'USAGE',
      message: 'nope',
    });
    expect(toFailure(new CliError('KEY_FILE_INVALID', 'bad', EXIT.data)).exitCode).toBe(EXIT.data);
    expect(toFailure(new Error('boom'))).toMatchObject({
      exitCode: EXIT.internal,
      code: 'INTERNAL',
      message: 'boom',
    });
  });
});
