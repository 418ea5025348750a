import { readFile } from 'node:fs/promises';
import { secret } from '@whitepay/base/config';
import type { Hex } from 'viem';
import { z } from 'zod';
import { EcdsaError } from './index.js';
import { decryptPrivateKey } from './keystore.js';

const HEX32 = /^0x[0-9a-fA-F]{64}$/;

/**
 * The account-key piece of a service's config (the keeper's secp256k1 key:
 * its transactions, its envelopes): the key as hex (an env variable, or
 * `PRIVATE_KEY_FILE`), or a Web3 Secret Storage (V3) keystore with its
 * passphrase in a file. Exactly one of the two.
 */
export const accountKeyConfigSchema = {
  privateKey: secret(
    z.string().regex(HEX32, 'expected a 0x-prefixed 32-byte hex key').optional(),
    'secp256k1 key of this keeper account, hex (or KEYSTORE_FILE)',
  ),
  keystoreFile: z
    .string()
    .optional()
    .describe('V3 keystore of the account key (`whitepay keeper keygen --account` writes one)'),
  keystorePasswordFile: z.string().optional().describe("file holding the account keystore's passphrase"),
};

/** Where a key may come from, under whatever names a service gives them. */
export interface KeySources {
  hex?: string | undefined;
  keystoreFile?: string | undefined;
  passwordFile?: string | undefined;
}

/**
 * The secp256k1 key the sources name, decrypting the keystore when they name
 * one (scrypt, once at start).
 *
 * @throws EcdsaError `ECDSA_KEY_CONFIG`, `ECDSA_KEY_FILE_UNREADABLE`, `ECDSA_KEYSTORE_INVALID`, `ECDSA_KEYSTORE_PASSWORD`.
 */
export async function loadPrivateKey(sources: KeySources, what = 'PRIVATE_KEY'): Promise<Hex> {
  const { hex, keystoreFile, passwordFile } = sources;
  if (hex !== undefined && keystoreFile !== undefined)
    throw new EcdsaError('ECDSA_KEY_CONFIG', `set ${what} or its keystore, not both`);
  if (hex !== undefined) return hex as Hex;
  if (keystoreFile === undefined) throw new EcdsaError('ECDSA_KEY_CONFIG', `${what}: no key and no keystore`);
  if (passwordFile === undefined)
    throw new EcdsaError('ECDSA_KEY_CONFIG', `${what}: a keystore needs its passphrase file`);
  const [keystore, passphrase] = await Promise.all([read(keystoreFile), read(passwordFile)]);
  return decryptPrivateKey(keystore, passphrase.replace(/\r?\n$/, ''));
}

/** `loadPrivateKey` of the account-key piece. */
export async function loadAccountKey(config: {
  privateKey?: string | undefined;
  keystoreFile?: string | undefined;
  keystorePasswordFile?: string | undefined;
}): Promise<Hex> {
  return loadPrivateKey({
    hex: config.privateKey,
    keystoreFile: config.keystoreFile,
    passwordFile: config.keystorePasswordFile,
  });
}

async function read(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new EcdsaError(
      'ECDSA_KEY_FILE_UNREADABLE',
      `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code}`,
      {
        cause,
      },
    );
  }
}
