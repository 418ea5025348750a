import { Keystore } from 'ox';
import { getAddress, type Hex, hexToBytes } from 'viem';
import { privateKeyToAddress } from 'viem/accounts';
import { EcdsaError } from './index.js';

/**
 * Web3 Secret Storage (V3) keystores for a keeper's secp256k1 keys (its
 * transaction account, its record-signing key), through `ox`'s `Keystore`
 * (wevm's, the library viem is built on): AES-128-CTR under a key derived from
 * the passphrase by scrypt (n = 2^18, r = 8, p = 1, as geth writes them) or
 * PBKDF2, and a keccak MAC that tells a wrong passphrase. The file carries the
 * account's address, as geth's do, so that an operator sees whose key it is.
 */
export type V3Keystore = Keystore.Keystore & { address?: string };

export interface V3KeystoreOptions {
  /** `scrypt` (default) or `pbkdf2` (c = 2^18). */
  kdf?: 'scrypt' | 'pbkdf2';
}

/** Encrypts a 32-byte private key under `passphrase` as a V3 keystore. */
export async function encryptPrivateKey(
  privateKey: Hex,
  passphrase: string,
  opts: V3KeystoreOptions = {},
): Promise<V3Keystore> {
  const address = addressOfKey(privateKey);
  const [key, derive] =
    opts.kdf === 'pbkdf2'
      ? await Keystore.pbkdf2Async({ password: passphrase, iterations: 262_144 })
      : await Keystore.scryptAsync({ password: passphrase, n: 262_144, r: 8, p: 1 });
  const ks = Keystore.encrypt(privateKey, key, derive);
  return { ...ks, address: address.slice(2).toLowerCase() };
}

/**
 * Decrypts a V3 keystore (parsed JSON or its text); when it names an address,
 * checks that the key it holds is that account's.
 *
 * @throws EcdsaError `ECDSA_KEYSTORE_INVALID`, `ECDSA_KEYSTORE_PASSWORD`.
 */
export async function decryptPrivateKey(keystore: unknown, passphrase: string): Promise<Hex> {
  let ks: V3Keystore;
  try {
    ks = (typeof keystore === 'string' ? JSON.parse(keystore) : keystore) as V3Keystore;
  } catch (cause) {
    throw new EcdsaError('ECDSA_KEYSTORE_INVALID', 'keystore is not JSON', { cause });
  }
  const problem = v3Problem(ks);
  if (problem) throw new EcdsaError('ECDSA_KEYSTORE_INVALID', `not a V3 keystore: ${problem}`);
  let privateKey: Hex;
  try {
    const key = await Keystore.toKeyAsync(ks, { password: passphrase });
    privateKey = Keystore.decrypt(ks, key);
  } catch (cause) {
    throw new EcdsaError('ECDSA_KEYSTORE_PASSWORD', 'keystore MAC mismatch: wrong passphrase', { cause });
  }
  const address = addressOfKey(privateKey);
  if (ks.address !== undefined && getAddress(`0x${ks.address.replace(/^0x/, '')}`) !== address) {
    throw new EcdsaError(
      'ECDSA_KEYSTORE_INVALID',
      `keystore address 0x${ks.address} is not the key it holds (${address})`,
    );
  }
  return privateKey;
}

function addressOfKey(privateKey: Hex) {
  if (hexToBytes(privateKey).length !== 32)
    throw new EcdsaError('ECDSA_KEY_INVALID', 'not a 32-byte private key');
  try {
    return privateKeyToAddress(privateKey);
  } catch (cause) {
    throw new EcdsaError('ECDSA_KEY_INVALID', 'not a secp256k1 private key', { cause });
  }
}

const HEX = /^[0-9a-fA-F]+$/;

function v3Problem(ks: V3Keystore): string | null {
  if (typeof ks !== 'object' || ks === null) return 'not an object';
  if (ks.version !== 3) return `version ${String((ks as { version?: unknown }).version)}`;
  const c = ks.crypto;
  if (typeof c !== 'object' || c === null) return 'no crypto section';
  if (c.cipher !== 'aes-128-ctr') return `cipher ${String(c.cipher)}`;
  if (typeof c.ciphertext !== 'string' || !HEX.test(c.ciphertext)) return 'ciphertext';
  if (typeof c.mac !== 'string' || !HEX.test(c.mac)) return 'mac';
  if (typeof c.cipherparams?.iv !== 'string' || c.cipherparams.iv.length !== 32) return 'iv';
  if (c.kdf === 'scrypt') {
    const p = c.kdfparams as { n?: unknown; r?: unknown; p?: unknown; salt?: unknown; dklen?: unknown };
    if (![p.n, p.r, p.p, p.dklen].every((x) => Number.isInteger(x)) || typeof p.salt !== 'string')
      return 'scrypt params';
  } else if (c.kdf === 'pbkdf2') {
    const p = c.kdfparams as { c?: unknown; prf?: unknown; salt?: unknown; dklen?: unknown };
    if (!Number.isInteger(p.c) || p.prf !== 'hmac-sha256' || typeof p.salt !== 'string')
      return 'pbkdf2 params';
  } else return `kdf ${String(c.kdf)}`;
  return null;
}
