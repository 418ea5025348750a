/**
 * One JSON encoding for every service's HTTP answers (docs/api.md):
 * addresses EIP-55, byte strings 0x-hex, and every integer that can exceed
 * 2^53 — block numbers, amounts in wei, sizes in byte·blocks, ts/te — a
 * decimal string (as the Ethereum beacon API does for uint64). Counts, ids
 * and times in ms stay JSON integers. These fragments are the schemas of
 * those fields; routes spread them instead of writing their own.
 */

/** A block number, decimal string. */
export const blockNumberSchema = {
  type: 'string',
  pattern: '^[0-9]{1,20}$',
  description: 'block number, decimal string',
} as const;

/** An amount in wei, decimal string (any size). */
export const weiSchema = {
  type: 'string',
  pattern: '^[0-9]{1,78}$',
  description: 'amount in wei, decimal string',
} as const;

/** Any other unsigned integer that may exceed 2^53 (ts, te, st, sizes), decimal string. */
export const uintStringSchema = {
  type: 'string',
  pattern: '^[0-9]{1,78}$',
  description: 'unsigned integer, decimal string',
} as const;

/** A 20-byte address (answers are EIP-55; requests take any case). */
export const addressSchema = { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$' } as const;

/** A block number or an integer as the decimal string of the one encoding. */
export function decimal(value: bigint | number): string {
  return typeof value === 'bigint' ? value.toString() : BigInt(value).toString();
}
