import { invalidArgument } from './errors.js';

/** Largest value of a PostgreSQL bigint; uint64 protocol values above it are refused. */
export const INT8_MAX = 9_223_372_036_854_775_807n;
export const UINT32_MAX = 4_294_967_295;

export function checkBytes(name: string, v: Uint8Array, len: number): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== len) {
    throw invalidArgument(`${name} must be ${len} bytes`, { field: name, length: v?.length });
  }
  return v;
}

export function checkInt8(name: string, v: bigint): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > INT8_MAX) {
    throw invalidArgument(`${name} must be an integer in [0, 2^63)`, { field: name, value: String(v) });
  }
  return v;
}

export function checkUint32(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > UINT32_MAX) {
    throw invalidArgument(`${name} must be a uint32`, { field: name, value: v });
  }
  return v;
}

export function checkUint256(name: string, v: bigint): bigint {
  if (typeof v !== 'bigint' || v < 0n || v >= 1n << 256n) {
    throw invalidArgument(`${name} must be a uint256`, { field: name, value: String(v) });
  }
  return v;
}

/** pg returns bigint/numeric as strings; the store hands out bigints. */
export function big(v: string | number | bigint): bigint {
  return BigInt(v);
}

export function bytes(v: Buffer | Uint8Array): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

export function toHex(v: Uint8Array): `0x${string}` {
  return `0x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
}

export function fromHex(name: string, v: string, len?: number): Uint8Array {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(v))
    throw invalidArgument(`${name} must be 0x-prefixed hex`, { field: name });
  const b = new Uint8Array(Buffer.from(v.slice(2), 'hex'));
  if (len !== undefined) checkBytes(name, b, len);
  return b;
}
