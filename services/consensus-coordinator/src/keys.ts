import { loadBlsSecretKey, toHex } from '@whitepay/bls';
import { loadAccountKey } from '@whitepay/ecdsa';
import type { Config } from './config.js';

/**
 * The config with both keys resolved to hex: decrypts the keystores it names
 * (scrypt, once, at start). The app reads `privateKey` and `blsSecretKey`.
 */
export async function withKeys<C extends Config>(
  config: C,
): Promise<C & { privateKey: string; blsSecretKey: string }> {
  const [privateKey, bls] = await Promise.all([loadAccountKey(config), loadBlsSecretKey(config)]);
  return { ...config, privateKey, blsSecretKey: toHex(bls) };
}

/** Both keys as hex, once resolved (hex in the config, or `withKeys` run); a keystore left unresolved is a bug. */
export function resolvedKeys(config: Pick<Config, 'privateKey' | 'blsSecretKey'>): {
  privateKey: `0x${string}`;
  blsSecretKey: string;
} {
  if (config.privateKey === undefined || config.blsSecretKey === undefined)
    throw new Error('the coordinator needs both keys resolved (withKeys) before createApp');
  return { privateKey: config.privateKey as `0x${string}`, blsSecretKey: config.blsSecretKey };
}
