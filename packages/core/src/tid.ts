import { type Address, concat, encodeAbiParameters, type Hex, keccak256, numberToHex, slice } from 'viem';
import { addressProblem, bytes32Problem, UINT32_MAX, UINT64_MAX, uintProblem } from './abi.js';
import { EncodingError } from './errors.js';

export interface TidInput {
  readonly ts: bigint;
  readonly te: bigint;
  readonly pid: Address;
  readonly user: Address;
  /** The leader's keeper id (`uint32`). */
  readonly leaderId: number;
  /** The leader's 1-based position (`uint8`, 1..255). */
  readonly r: number;
}

export function checkUintField(value: unknown, max: bigint, field: string): void {
  const problem = uintProblem(value, max);
  if (problem !== null) throw new EncodingError('ENCODING_INVALID_VALUE', `${field}: ${problem}`, { field });
}

export function checkIntField(value: unknown, max: bigint, field: string, min = 0): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || BigInt(value) > max) {
    throw new EncodingError('ENCODING_INVALID_VALUE', `${field}: expected an integer in ${min}..${max}`, {
      field,
    });
  }
}

export function checkAddressField(value: unknown, field: string): void {
  const problem = addressProblem(value);
  if (problem !== null) throw new EncodingError('ENCODING_INVALID_VALUE', `${field}: ${problem}`, { field });
}

/**
 * The round id of SPEC 6 as `bytes32` (docs/encoding.md): the first 31 bytes
 * of `keccak256(abi.encode(uint64 ts, uint64 te, address pid, address user,
 * uint32 leaderId))` followed by the byte `r`.
 *
 * @throws EncodingError when a value does not fit its ABI type or `r` is 0.
 */
export function tid(input: TidInput): Hex {
  checkUintField(input.ts, UINT64_MAX, 'ts');
  checkUintField(input.te, UINT64_MAX, 'te');
  checkAddressField(input.pid, 'pid');
  checkAddressField(input.user, 'user');
  checkIntField(input.leaderId, UINT32_MAX, 'leaderId');
  checkIntField(input.r, 255n, 'r', 1);
  const hash = keccak256(
    encodeAbiParameters(
      [{ type: 'uint64' }, { type: 'uint64' }, { type: 'address' }, { type: 'address' }, { type: 'uint32' }],
      [
        input.ts,
        input.te,
        input.pid.toLowerCase() as Address,
        input.user.toLowerCase() as Address,
        input.leaderId,
      ],
    ),
  );
  return concat([slice(hash, 0, 31), numberToHex(input.r, { size: 1 })]);
}

/**
 * The leader position `r` carried in the last byte of a tid.
 *
 * @throws EncodingError when `value` is not 32 bytes of hex.
 */
export function tidPosition(value: Hex): number {
  const problem = bytes32Problem(value);
  if (problem !== null)
    throw new EncodingError('ENCODING_INVALID_VALUE', `tid: ${problem}`, { field: 'tid' });
  return Number.parseInt(value.slice(64), 16);
}
