import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import { randomBytes } from '@noble/hashes/utils';
import { bigIntToBytes, bytesToBigInt, R, SECRET_KEY_LENGTH } from './curve.js';
import { BlsError, guard } from './errors.js';

/** Smallest input keying material KeyGen accepts (IETF BLS draft, EIP-2333). */
export const MIN_SEED_LENGTH = 32;

const KEYGEN_SALT = new TextEncoder().encode('BLS-SIG-KEYGEN-SALT-');
/** ceil((3 * ceil(log2(r))) / 16) */
const KEYGEN_L = 48;

/** Parses a 32-byte big-endian secret key, requiring 1 <= sk < r. */
export function secretKeyScalar(sk: unknown): bigint {
  if (!(sk instanceof Uint8Array) || sk.length !== SECRET_KEY_LENGTH) {
    throw new BlsError('BLS_INVALID_SECRET_KEY', `secret key: expected ${SECRET_KEY_LENGTH} bytes`);
  }
  const n = bytesToBigInt(sk);
  if (n === 0n || n >= R) throw new BlsError('BLS_INVALID_SECRET_KEY', 'secret key: not in [1, r)');
  return n;
}

/**
 * Deterministic key generation: `KeyGen(IKM)` of draft-irtf-cfrg-bls-signature
 * (v4+, section 2.3) with empty `key_info`, which is also EIP-2333's
 * `derive_master_SK(seed)` (HKDF-SHA256 with salt "BLS-SIG-KEYGEN-SALT-",
 * re-hashed until the result is non-zero mod r). The same seed always gives
 * the same key — for tests and devnets; production keys come from
 * `generateSecretKey()`. The seed must have at least 32 bytes.
 */
export function secretKeyFromSeed(seed: Uint8Array): Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length < MIN_SEED_LENGTH) {
    throw new BlsError('BLS_INVALID_LENGTH', `seed: expected at least ${MIN_SEED_LENGTH} bytes`);
  }
  return guard('secretKeyFromSeed', () => {
    const ikm = new Uint8Array(seed.length + 1); // IKM || I2OSP(0, 1)
    ikm.set(seed);
    const info = new Uint8Array([0, KEYGEN_L]); // key_info || I2OSP(L, 2)
    let salt: Uint8Array = KEYGEN_SALT;
    for (;;) {
      salt = sha256(salt);
      const okm = hkdf(sha256, ikm, salt, info, KEYGEN_L);
      const sk = bytesToBigInt(okm) % R;
      if (sk !== 0n) return bigIntToBytes(sk, SECRET_KEY_LENGTH);
    }
  });
}

/** A fresh secret key: KeyGen over 32 bytes from the platform CSPRNG. */
export function generateSecretKey(): Uint8Array {
  return secretKeyFromSeed(randomBytes(32));
}
