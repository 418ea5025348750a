import { WhitePayError } from '@whitepay/base';
import { createPublicClient, type HttpTransport, http, type PublicClient } from 'viem';
import { z } from 'zod';

/**
 * The settlement chain piece of a service's config, spread into its shape and
 * read under its prefix (`CONSENSUS_COORDINATOR_RPC_URL`). An API key in the
 * URL (`…/v3/<key>`, `?apikey=`, `user:pass@`) is hidden from logs.
 */
export const chainConfigSchema = {
  rpcUrl: z.string().url().describe('JSON-RPC URL of the settlement chain'),
  chainId: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .describe('expected chain id; checked at start when set'),
};

export interface ChainConfig {
  rpcUrl: string;
  chainId?: number | undefined;
}

export interface TransportOptions {
  /** viem's own retries of a failed request (0: the caller retries). */
  retryCount?: number;
  timeoutMs?: number;
}

/** The JSON-RPC transport of the config's URL. */
export function chainTransport(cfg: ChainConfig, opts: TransportOptions = {}): HttpTransport {
  return http(cfg.rpcUrl, { retryCount: opts.retryCount ?? 2, timeout: opts.timeoutMs ?? 10_000 });
}

/** A public client over `chainTransport`. */
export function createChainClient(cfg: ChainConfig, opts: TransportOptions = {}): PublicClient {
  return createPublicClient({ transport: chainTransport(cfg, opts) }) as PublicClient;
}

/** Refuses a node on another chain than `chainId` (when set); `CHAIN_ID_MISMATCH`. */
export async function assertChainId(
  client: Pick<PublicClient, 'getChainId'>,
  cfg: ChainConfig,
): Promise<void> {
  if (cfg.chainId === undefined) return;
  const id = await client.getChainId();
  if (id !== cfg.chainId)
    throw new WhitePayError('CHAIN_ID_MISMATCH', `chain id ${id} != configured ${cfg.chainId}`, {
      kind: 'failed_precondition',
      details: { chainId: id, configured: cfg.chainId },
    });
}
