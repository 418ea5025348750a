import { upkeepingAbi } from '@whitepay/contracts';
import {
  BaseError,
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  encodeErrorResult,
  HttpRequestError,
  RawContractError,
} from 'viem';
import { describe, expect, it } from 'vitest';
import { ContractRevertError } from '../../errors.js';
import { decodeRevert, isRevert } from './revert.js';

const upkeeping = '0x00000000000000000000000000000000000000aa';

/** An ABI of a contract that changed its errors: one refusal with a reason enum (uint8 in the ABI). */
const changedAbi = [
  {
    type: 'error',
    name: 'UpkeepingPaymentRefused',
    inputs: [
      { name: 'index', type: 'uint256' },
      { name: 'reason', type: 'uint8' },
    ],
  },
  { type: 'function', name: 'payBatch', inputs: [], outputs: [], stateMutability: 'nonpayable' },
] as const;

describe('decodeRevert', () => {
  it('takes any error the ABI declares, by name and arguments (a new or renamed error needs no change)', () => {
    const data = encodeErrorResult({ abi: changedAbi, errorName: 'UpkeepingPaymentRefused', args: [4n, 3] });
    const cause = new ContractFunctionRevertedError({ abi: changedAbi, data, functionName: 'payBatch' });
    const err = new ContractFunctionExecutionError(cause, {
      abi: changedAbi,
      functionName: 'payBatch',
      args: [],
      contractAddress: upkeeping,
    });
    const e = decodeRevert(err);
    expect(e).toBeInstanceOf(ContractRevertError);
    expect(e).toMatchObject({
      code: 'UpkeepingPaymentRefused',
      errorName: 'UpkeepingPaymentRefused',
      args: [4n, 3],
      kind: 'failed_precondition',
      details: { errorName: 'UpkeepingPaymentRefused', args: ['4', 3] },
    });
    expect(e?.message).toBe('UpkeepingPaymentRefused(4, 3)');
  });

  it('decodes raw revert bytes (a plain call) through the contracts ABI, with their kind', () => {
    const data = encodeErrorResult({ abi: upkeepingAbi, errorName: 'UpkeepingInvalidSignature' });
    const err = new BaseError('call failed', { cause: new RawContractError({ data }) });
    expect(decodeRevert(err)).toMatchObject({ code: 'UpkeepingInvalidSignature', kind: 'unauthenticated' });
    expect(isRevert(err)).toBe(true);
  });

  it('is null for what is not a revert with data', () => {
    expect(decodeRevert(new HttpRequestError({ url: 'http://127.0.0.1:1' }))).toBeNull();
    expect(decodeRevert(new Error('execution reverted: UpkeepingInvalidSignature'))).toBeNull();
    const bare = new BaseError('call failed', { cause: new RawContractError({ data: '0x' }) });
    expect(decodeRevert(bare)).toBeNull();
    expect(isRevert(bare)).toBe(true);
    // Unknown selector: not guessed.
    const unknown = new BaseError('x', { cause: new RawContractError({ data: '0xdeadbeef' }) });
    expect(decodeRevert(unknown)).toBeNull();
  });
});
