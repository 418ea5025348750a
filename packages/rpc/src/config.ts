import { ConfigError, secret } from '@whitepay/base';
import { z } from 'zod';
import { readTlsFiles, type TlsMaterial } from './tls.js';

/**
 * The config pieces of gRPC transport security, spread into a service's shape
 * (read under its prefix: `CONSENSUS_COORDINATOR_PEER_TLS_CA_FILE`).
 *
 * `peerTlsConfigSchema`: keeper-to-keeper gRPC. mTLS is the default and the
 * only mode across organisations; plaintext needs `PEER_PLAINTEXT=true`,
 * meant for a local network on one machine.
 */
export const peerTlsConfigSchema = {
  peerTlsCaFile: z
    .string()
    .optional()
    .describe(
      'PEM bundle of the CAs whose keeper certificates this keeper accepts (one per organisation, or a group CA)',
    ),
  peerTlsCertFile: z
    .string()
    .optional()
    .describe('PEM certificate of this keeper, naming it in a URI SAN `urn:whitepay:keeper:<id>:<account>`'),
  peerTlsKeyFile: z.string().optional().describe("PEM private key of this keeper's certificate"),
  peerPlaintext: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true')
    .describe('speak plaintext gRPC to peers (local development only: no identity, no encryption)'),
};

/**
 * `internalTokenConfigSchema`: the calls between one keeper's own services
 * (coordinator → st-calculator / challenge-store, challenger →
 * challenge-store) carry this shared token of the release; a server with a
 * token refuses calls without it.
 */
export const internalTokenConfigSchema = {
  internalToken: secret(
    z.string().min(16).optional(),
    "shared token of this release's service-to-service gRPC calls (the same in every service of the keeper); unset: not required",
  ),
};

export interface PeerTlsConfig {
  peerTlsCaFile?: string | undefined;
  peerTlsCertFile?: string | undefined;
  peerTlsKeyFile?: string | undefined;
  peerPlaintext: boolean;
}

/** The peer TLS material, or undefined for explicit plaintext; anything in between is a config error. */
export function peerTlsOf(config: PeerTlsConfig, prefix: string): TlsMaterial | undefined {
  const files = [config.peerTlsCaFile, config.peerTlsCertFile, config.peerTlsKeyFile];
  const set = files.filter((f) => f !== undefined && f !== '').length;
  if (config.peerPlaintext) {
    if (set > 0)
      throw new ConfigError(`${prefix}_PEER_PLAINTEXT=true contradicts the PEER_TLS_* files`, {
        problems: [`${prefix}_PEER_PLAINTEXT: set with PEER_TLS_* files`],
      });
    return undefined;
  }
  if (set !== 3)
    throw new ConfigError(
      `peer gRPC needs mTLS: set ${prefix}_PEER_TLS_CA_FILE, ${prefix}_PEER_TLS_CERT_FILE and ${prefix}_PEER_TLS_KEY_FILE (or ${prefix}_PEER_PLAINTEXT=true for a local network); ${set} of 3 set`,
      { problems: [`${prefix}_PEER_TLS_*: ${set} of 3 set`] },
    );
  return readTlsFiles({
    caFile: config.peerTlsCaFile!,
    certFile: config.peerTlsCertFile!,
    keyFile: config.peerTlsKeyFile!,
  });
}
