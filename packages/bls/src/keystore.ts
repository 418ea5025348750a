import {
  create,
  decrypt,
  defaultPbkdfModule,
  defaultScryptModule,
  type IKeystore,
  validateKeystore,
} from '@chainsafe/bls-keystore';
import { BlsError } from './errors.js';
import { toHex } from './hex.js';
import { publicKeyOf } from './signatures.js';

/**
 * EIP-2335 keystores for a keeper's BLS secret key, through ChainSafe's
 * `@chainsafe/bls-keystore` (the library Lodestar loads validator keystores
 * with): the secret encrypted with AES-128-CTR under a key derived from the
 * passphrase (scrypt by default, as staking-deposit-cli writes them; PBKDF2 on
 * request), a SHA-256 checksum that tells a wrong passphrase, and the public
 * key in clear so that an operator can see whose key a file holds.
 */
export type Eip2335Keystore = IKeystore;

export interface KeystoreOptions {
  /** `scrypt` (default; n = 2^18, r = 8, p = 1) or `pbkdf2` (c = 2^18). */
  kdf?: 'scrypt' | 'pbkdf2';
  /** EIP-2334 path the key came from (`""`: not derived from a mnemonic). */
  path?: string;
  description?: string;
}

/** Encrypts `sk` under `passphrase` as an EIP-2335 (version 4) keystore. */
export async function encryptSecretKey(
  sk: Uint8Array,
  passphrase: string,
  opts: KeystoreOptions = {},
): Promise<Eip2335Keystore> {
  const pk = publicKeyOf(sk);
  const kdf = opts.kdf === 'pbkdf2' ? defaultPbkdfModule() : defaultScryptModule();
  return create(passphrase, sk, pk, opts.path ?? '', opts.description ?? null, kdf);
}

/**
 * Decrypts an EIP-2335 keystore (parsed JSON or its text) and checks that the
 * key it holds is the public key it names.
 *
 * @throws BlsError `BLS_KEYSTORE_INVALID` (not a keystore, or pubkey mismatch), `BLS_KEYSTORE_PASSWORD`.
 */
export async function decryptSecretKey(keystore: unknown, passphrase: string): Promise<Uint8Array> {
  let parsed: unknown = keystore;
  if (typeof keystore === 'string') {
    try {
      parsed = JSON.parse(keystore);
    } catch (cause) {
      throw new BlsError('BLS_KEYSTORE_INVALID', 'keystore is not JSON', { cause });
    }
  }
  try {
    validateKeystore(parsed);
  } catch (cause) {
    throw new BlsError('BLS_KEYSTORE_INVALID', `not an EIP-2335 keystore: ${(cause as Error).message}`, {
      cause,
    });
  }
  const ks = parsed as IKeystore;
  let sk: Uint8Array;
  try {
    sk = await decrypt(ks, passphrase);
  } catch (cause) {
    throw new BlsError('BLS_KEYSTORE_PASSWORD', 'keystore checksum mismatch: wrong passphrase', { cause });
  }
  const pk = publicKeyOf(sk);
  if (ks.pubkey !== '' && ks.pubkey.toLowerCase().replace(/^0x/, '') !== toHex(pk).slice(2)) {
    throw new BlsError(
      'BLS_KEYSTORE_INVALID',
      `keystore pubkey ${ks.pubkey} is not the key it holds (${toHex(pk)})`,
    );
  }
  return sk;
}
