import { createRequire } from 'node:module';
import { WhitePayError } from '@whitepay/base/errors';
import type Secp256k1 from 'secp256k1';
import { type Address, concat, getAddress, type Hex, hexToBytes, keccak256, slice } from 'viem';

/**
 * Keeper-to-keeper signatures: secp256k1 over the EIP-191 hash of a 32-byte
 * digest (`personal_sign` of the raw digest, as viem's
 * `signMessage({ message: { raw } })`), encoded `r ‖ s ‖ v` with v = 27 + recovery id.
 *
 * A keeper signs every challenge record for its peers and recovers the signer
 * of every record it receives, so this is hot: libsecp256k1 (the `secp256k1`
 * package, a prebuilt native addon; it falls back to a JS implementation where
 * the addon cannot load) signs in ~0.05 ms and recovers in ~0.07 ms, against
 * ~0.35 / ~1.7 ms for the pure-JS path on the same machine (docs/benchmarks.md).
 * This package is the only importer of `secp256k1`.
 */

const require = createRequire(import.meta.url);
const secp: typeof Secp256k1 = require('secp256k1');

/** Which implementation loaded: `native` (libsecp256k1 addon) or `js` (the package's fallback). */
export const backend: 'native' | 'js' = (() => {
  try {
    require('secp256k1/bindings');
    return 'native';
  } catch {
    return 'js';
  }
})();

export type EcdsaErrorCode =
  /** A signature that cannot be produced or does not recover. */
  | 'ECDSA_SIGNATURE_INVALID'
  /** Not a secp256k1 private key. */
  | 'ECDSA_KEY_INVALID'
  /** Not a Web3 Secret Storage (V3) keystore, or its address is not the key it holds. */
  | 'ECDSA_KEYSTORE_INVALID'
  /** The keystore's MAC does not match: the wrong passphrase. */
  | 'ECDSA_KEYSTORE_PASSWORD'
  /** A key config naming no key or two, or a keystore without its passphrase file. */
  | 'ECDSA_KEY_CONFIG'
  /** A keystore or passphrase file that cannot be read. */
  | 'ECDSA_KEY_FILE_UNREADABLE';

/** The only error type `@whitepay/ecdsa` throws. */
export class EcdsaError extends WhitePayError {
  override readonly name: string = 'EcdsaError';
  constructor(code: EcdsaErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(code, message, {
      kind: 'invalid_argument',
      ...(opts.cause === undefined ? {} : { cause: opts.cause }),
    });
  }
}

const PREFIX = new TextEncoder().encode('\x19Ethereum Signed Message:\n32');

function digestBytes(digest: Hex | Uint8Array): Uint8Array {
  const d = typeof digest === 'string' ? hexToBytes(digest) : digest;
  if (d.length !== 32)
    throw new EcdsaError('ECDSA_SIGNATURE_INVALID', `digest must be 32 bytes, got ${d.length}`);
  return d;
}

/** The EIP-191 hash that is actually signed: `keccak256("\x19Ethereum Signed Message:\n32" ‖ digest)`. */
export function eip191Hash(digest: Hex | Uint8Array): Uint8Array {
  return keccak256(concat([PREFIX, digestBytes(digest)]), 'bytes');
}

/** A signing key, checked and converted once (a keeper signs thousands of records with one key). */
export class Signer {
  readonly address: Address;
  private readonly key: Uint8Array;

  constructor(privateKey: Hex) {
    const key = hexToBytes(privateKey);
    if (key.length !== 32 || !secp.privateKeyVerify(key)) {
      throw new EcdsaError('ECDSA_KEY_INVALID', 'not a secp256k1 private key');
    }
    this.key = key;
    this.address = addressOf(secp.publicKeyCreate(key, false));
  }

  /** The 65-byte `r ‖ s ‖ v` signature of `digest` (EIP-191), deterministic (RFC 6979), low s. */
  sign(digest: Hex | Uint8Array): Uint8Array {
    const { signature, recid } = secp.ecdsaSign(eip191Hash(digest), this.key);
    const out = new Uint8Array(65);
    out.set(signature);
    out[64] = 27 + recid;
    return out;
  }
}

export function addressOf(uncompressed: Uint8Array): Address {
  return getAddress(slice(keccak256(uncompressed.subarray(1)), 12));
}

/**
 * The address that signed `digest` (EIP-191) with a 65-byte `r ‖ s ‖ v`
 * signature; v may be 27/28 or 0/1.
 *
 * @throws EcdsaError `ECDSA_SIGNATURE_INVALID` when the signature is malformed or recovers no key.
 */
export function recoverSigner(digest: Hex | Uint8Array, signature: Hex | Uint8Array): Address {
  const sig = typeof signature === 'string' ? hexToBytes(signature) : signature;
  if (sig.length !== 65) {
    throw new EcdsaError('ECDSA_SIGNATURE_INVALID', `signature must be 65 bytes, got ${sig.length}`);
  }
  const v = sig[64]!;
  const recid = v >= 27 ? v - 27 : v;
  if (recid !== 0 && recid !== 1) {
    throw new EcdsaError('ECDSA_SIGNATURE_INVALID', `bad recovery byte v = ${v}`);
  }
  const hash = eip191Hash(digest);
  try {
    return addressOf(secp.ecdsaRecover(sig.subarray(0, 64), recid, hash, false));
  } catch (err) {
    throw new EcdsaError(
      'ECDSA_SIGNATURE_INVALID',
      `signature does not recover: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

export { accountKeyConfigSchema, type KeySources, loadAccountKey, loadPrivateKey } from './key-file.js';
export { decryptPrivateKey, encryptPrivateKey, type V3Keystore, type V3KeystoreOptions } from './keystore.js';
export * from './remote-signer.js';
