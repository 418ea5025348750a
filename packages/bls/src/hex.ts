import { BlsError } from './errors.js';

export type Hex = `0x${string}`;

const HEX_RE = /^(0x)?([0-9a-fA-F]{2})*$/;

/** Lower-case hex with a `0x` prefix (the form viem and Solidity tooling use). */
export function toHex(bytes: Uint8Array): Hex {
  let s = '0x';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s as Hex;
}

/** Parses hex with or without `0x`; an odd length or a non-hex digit is `BLS_INVALID_ENCODING`. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string' || !HEX_RE.test(hex)) {
    throw new BlsError('BLS_INVALID_ENCODING', 'invalid hex string');
  }
  const body = hex.startsWith('0x') ? hex.slice(2) : hex;
  const out = new Uint8Array(body.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(body.slice(2 * i, 2 * i + 2), 16);
  return out;
}
