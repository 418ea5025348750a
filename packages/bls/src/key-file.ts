import { readFile } from 'node:fs/promises';
import { secret } from '@whitepay/base/config';
import { z } from 'zod';
import { BlsError } from './errors.js';
import { fromHex } from './hex.js';
import { decryptSecretKey } from './keystore.js';

const HEX32 = /^0x[0-9a-fA-F]{64}$/;

/**
 * The BLS key piece of a service's config: the secret as hex (an env
 * variable, or `BLS_SECRET_KEY_FILE`), or — the way operators keep it — an
 * EIP-2335 keystore with its passphrase in a file. Exactly one of the two.
 */
export const blsKeyConfigSchema = {
  blsSecretKey: secret(
    z.string().regex(HEX32, 'expected a 0x-prefixed 32-byte hex key').optional(),
    'BLS12-381 secret key registered in the groups, hex: signs payment messages (or BLS_KEYSTORE_FILE)',
  ),
  blsKeystoreFile: z
    .string()
    .optional()
    .describe('EIP-2335 keystore of the BLS secret key (`whitepay keeper keygen` writes one)'),
  blsKeystorePasswordFile: z.string().optional().describe("file holding the BLS keystore's passphrase"),
};

export interface BlsKeyConfig {
  blsSecretKey?: string | undefined;
  blsKeystoreFile?: string | undefined;
  blsKeystorePasswordFile?: string | undefined;
}

/**
 * The BLS secret key a config names, decrypting its keystore when it names
 * one (scrypt: about a second, once at start).
 *
 * @throws BlsError `BLS_KEY_CONFIG` (none or both given, a keystore without passphrase file),
 *   `BLS_KEYSTORE_INVALID`, `BLS_KEYSTORE_PASSWORD`, `BLS_KEY_FILE_UNREADABLE`.
 */
export async function loadBlsSecretKey(config: BlsKeyConfig): Promise<Uint8Array> {
  const { blsSecretKey: hex, blsKeystoreFile: file, blsKeystorePasswordFile: passwordFile } = config;
  if ((hex === undefined) === (file === undefined))
    throw new BlsError('BLS_KEY_CONFIG', 'set exactly one of BLS_SECRET_KEY(_FILE) and BLS_KEYSTORE_FILE');
  if (hex !== undefined) return fromHex(hex);
  if (passwordFile === undefined)
    throw new BlsError('BLS_KEY_CONFIG', 'BLS_KEYSTORE_FILE needs BLS_KEYSTORE_PASSWORD_FILE');
  const [keystore, passphrase] = await Promise.all([read(file!), read(passwordFile)]);
  return decryptSecretKey(keystore, passphrase.replace(/\r?\n$/, ''));
}

async function read(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new BlsError(
      'BLS_KEY_FILE_UNREADABLE',
      `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code}`,
      {
        cause,
      },
    );
  }
}
