import { type Address, type Hex, isAddress, isHex } from 'viem';

/** Upper bounds (exclusive) of the unsigned ABI types the protocol uses. */
export const UINT8_MAX = (1n << 8n) - 1n;
export const UINT32_MAX = (1n << 32n) - 1n;
export const UINT64_MAX = (1n << 64n) - 1n;
export const UINT128_MAX = (1n << 128n) - 1n;
export const UINT256_MAX = (1n << 256n) - 1n;

/** Why `value` is not an unsigned integer of `max`'s width, or `null` when it is. */
export function uintProblem(value: unknown, max: bigint): string | null {
  if (typeof value !== 'bigint') return `expected a bigint, got ${typeof value}`;
  if (value < 0n) return `must not be negative, got ${value}`;
  if (value > max) return `exceeds ${max}, got ${value}`;
  return null;
}

/** Why `value` is not a 20-byte hex address, or `null` when it is (checksum not enforced). */
export function addressProblem(value: unknown): string | null {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
    return `expected a 20-byte hex address, got ${String(value)}`;
  }
  return null;
}

/** Why `value` is not 32 bytes of hex, or `null` when it is. */
export function bytes32Problem(value: unknown): string | null {
  if (typeof value !== 'string' || !isHex(value, { strict: true }) || value.length !== 66) {
    return `expected 32 bytes of hex, got ${String(value)}`;
  }
  return null;
}

export type { Address, Hex };
