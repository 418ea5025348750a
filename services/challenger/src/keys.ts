import { loadPrivateKey } from '@whitepay/ecdsa';
import type { ChallengerConfig } from './config.js';

/**
 * The config with the keeper account key resolved to hex: decrypts the V3
 * keystore it names (scrypt, once, at start). No key and no keystore stays
 * unset (no peer broadcast); the app reads `keeperPrivateKey` only.
 *
 * @throws EcdsaError `ECDSA_KEY_CONFIG` (both given, a keystore without its passphrase file),
 *   `ECDSA_KEY_FILE_UNREADABLE`, `ECDSA_KEYSTORE_INVALID`, `ECDSA_KEYSTORE_PASSWORD`.
 */
export async function withKeeperKey<C extends ChallengerConfig>(config: C): Promise<C> {
  const { keeperPrivateKey: hex, keeperKeystoreFile: keystoreFile } = config;
  if (hex === undefined && keystoreFile === undefined) return config;
  const keeperPrivateKey = await loadPrivateKey(
    { hex, keystoreFile, passwordFile: config.keeperKeystorePasswordFile },
    'KEEPER_PRIVATE_KEY',
  );
  return { ...config, keeperPrivateKey };
}
