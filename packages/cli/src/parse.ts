import { InvalidArgumentError } from 'commander';
import { type Address, getAddress, type Hex, isAddress, isHex, parseEther } from 'viem';

/**
 * Option parsers for commander: each throws `InvalidArgumentError` (→ a usage error, exit 64) with a
 * message saying what was expected. None is used for the private key, whose value must never be echoed.
 */

const UINT_RE = /^(0|[1-9][0-9]*)$/;
/** `1e18`-style integer notation for prices (mantissa digits, non-negative exponent). */
const SCI_RE = /^([0-9]+)e([0-9]+)$/i;

/** A non-negative integer in decimal (`1000`, `1_000`, or `1e18`), at most `max`. */
export function parseUint(max: bigint, what: string): (value: string) => bigint {
  return (value) => {
    const v = value.replaceAll('_', '');
    let n: bigint;
    const sci = SCI_RE.exec(v);
    if (sci) n = BigInt(sci[1]!) * 10n ** BigInt(sci[2]!);
    else if (UINT_RE.test(v)) n = BigInt(v);
    else throw new InvalidArgumentError(`expected ${what} (a non-negative integer)`);
    if (n > max) throw new InvalidArgumentError(`expected ${what} at most ${max}`);
    return n;
  };
}

export const UINT8_MAX = 2n ** 8n - 1n;
export const UINT32_MAX = 2n ** 32n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;
export const UINT256_MAX = 2n ** 256n - 1n;

export const parseUint256 = parseUint(UINT256_MAX, 'a uint256');
export const parseBlocks = parseUint(UINT64_MAX, 'a block count or height (uint64)');

/** A keeper id (`uint32`) as a JS number. */
export function parseKeeperId(value: string): number {
  return Number(parseUint(UINT32_MAX, 'a keeper id (uint32)')(value));
}

/** Basis points, 0..10000. */
export function parseBps(value: string): number {
  return Number(parseUint(10_000n, 'basis points (0..10000)')(value));
}

/** A threshold (0 = the default f + 1), 0..128. */
export function parseThreshold(value: string): number {
  return Number(parseUint(128n, 'a signer threshold (0..128, 0 = f + 1)')(value));
}

/** An EVM address (checksummed or not; a wrong checksum is rejected). */
export function parseAddress(value: string): Address {
  if (!isAddress(value, { strict: false })) throw new InvalidArgumentError('expected a 20-byte hex address');
  if (value !== value.toLowerCase() && value.slice(2) !== value.slice(2).toUpperCase()) {
    if (!isAddress(value)) throw new InvalidArgumentError('address checksum is wrong');
  }
  return getAddress(value);
}

/** An amount of ether in decimal (`1`, `0.5`, `0.000000000000000001`). */
export function parseEtherAmount(value: string): bigint {
  if (!/^(0|[1-9][0-9]*)(\.[0-9]{1,18})?$/.test(value)) {
    throw new InvalidArgumentError('expected an amount of ether, like 1 or 0.25 (at most 18 decimals)');
  }
  return parseEther(value);
}

/** Hex of `bytes` bytes (with or without 0x), lower-cased with 0x. */
export function parseHexBytes(bytes: number | { min: number }, what: string): (value: string) => Hex {
  return (value) => {
    const v = (value.startsWith('0x') ? value : `0x${value}`).toLowerCase() as Hex;
    const len = (v.length - 2) / 2;
    const ok = isHex(v, { strict: true }) && Number.isInteger(len);
    const sizeOk = typeof bytes === 'number' ? len === bytes : len >= bytes.min;
    if (!ok || !sizeOk) {
      const size = typeof bytes === 'number' ? `${bytes} bytes` : `at least ${bytes.min} bytes`;
      throw new InvalidArgumentError(`expected ${what}: hex of ${size}`);
    }
    return v;
  };
}

/** Milliseconds, 1..600000. */
export function parseMillis(value: string): number {
  const n = Number(parseUint(600_000n, 'milliseconds (1..600000)')(value));
  if (n < 1) throw new InvalidArgumentError('expected milliseconds (1..600000)');
  return n;
}
