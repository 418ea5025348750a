import { UPKEEPING_ERROR_KINDS, upkeepingAbi, upkeepingFactoryAbi } from '@whitepay/contracts';
import {
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  type Hex,
  RawContractError,
} from 'viem';
import { ContractRevertError } from '../../errors.js';

const errorAbi = [...upkeepingAbi, ...upkeepingFactoryAbi].filter((item) => item.type === 'error');

function revertError(errorName: string, args: readonly unknown[], cause: unknown): ContractRevertError {
  const kind = Object.hasOwn(UPKEEPING_ERROR_KINDS, errorName)
    ? UPKEEPING_ERROR_KINDS[errorName as keyof typeof UPKEEPING_ERROR_KINDS]
    : 'failed_precondition';
  return new ContractRevertError(errorName, args, kind, cause);
}

function fromData(data: Hex, cause: unknown): ContractRevertError | null {
  if (data.length < 10) return null;
  try {
    const { errorName, args } = decodeErrorResult({ abi: errorAbi, data });
    return revertError(errorName, args ?? [], cause);
  } catch {
    return null;
  }
}

/**
 * The contract boundary's revert mapper: when what viem threw is a revert
 * with data, the error decoded through the contracts' ABI (any error they
 * declare, by name and arguments; Solidity's `Error(string)` and `Panic`
 * too), else `null`. Matched by type (`BaseError.walk`), never by message:
 * `ContractFunctionRevertedError` (simulateContract, estimateContractGas,
 * already decoded with the ABI), or a `RawContractError` carrying the
 * revert bytes (a plain call).
 */
export function decodeRevert(err: unknown): ContractRevertError | null {
  if (err instanceof ContractRevertError) return err;
  if (!(err instanceof BaseError)) return null;
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError) {
    if (reverted.data) return revertError(reverted.data.errorName, reverted.data.args ?? [], err);
    if (reverted.raw) return fromData(reverted.raw, err);
  }
  const raw = err.walk((e) => e instanceof RawContractError);
  if (raw instanceof RawContractError && typeof raw.data === 'string') return fromData(raw.data, err);
  return null;
}

/** True when what viem threw says the call reverted (with or without decodable data). */
export function isRevert(err: unknown): boolean {
  if (!(err instanceof BaseError)) return false;
  return Boolean(
    err.walk((e) => e instanceof ContractFunctionRevertedError || e instanceof RawContractError),
  );
}
