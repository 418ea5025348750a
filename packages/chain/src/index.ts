import { Counter, Histogram, type Registry, WhitePayError } from '@whitepay/base';
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
  /**
   * The service's registry: every JSON-RPC request is timed and its failures
   * counted there (`rpcMetrics`), labelled like every series of the registry
   * (`whitepay_service`, `keeper`).
   */
  registry?: Registry;
}

/** Seconds: from a cached answer (~1 ms) to the 10 s timeout. */
const RPC_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface RpcMetrics {
  duration: Histogram<'method'>;
  errors: Counter<'method' | 'code'>;
}

/**
 * The chain client's metrics, created once per registry:
 * `whitepay_rpc_request_duration_seconds{method}` (every request, answered or
 * not, viem's own retries included) and
 * `whitepay_rpc_request_errors_total{method,code}` (`code`: `rpcErrorCode`).
 */
export function rpcMetrics(registry: Registry): RpcMetrics {
  const duration =
    (registry.getSingleMetric('whitepay_rpc_request_duration_seconds') as Histogram<'method'> | undefined) ??
    new Histogram({
      name: 'whitepay_rpc_request_duration_seconds',
      help: 'JSON-RPC requests to the settlement chain, by method: seconds until answered or failed',
      labelNames: ['method'],
      buckets: RPC_BUCKETS,
      registers: [registry],
    });
  const errors =
    (registry.getSingleMetric('whitepay_rpc_request_errors_total') as
      | Counter<'method' | 'code'>
      | undefined) ??
    new Counter({
      name: 'whitepay_rpc_request_errors_total',
      help: 'JSON-RPC requests to the settlement chain that failed, by method and code (rpcErrorCode)',
      labelNames: ['method', 'code'],
      registers: [registry],
    });
  return { duration, errors };
}

/**
 * The `code` label of a failed request, from a small set: the JSON-RPC error
 * code the node answered (`-32601`, `3` for a revert), `http_<status>` for an
 * HTTP failure, `timeout`, or `network` when no answer came.
 */
export function rpcErrorCode(err: unknown): string {
  for (
    let e = err as { code?: unknown; status?: unknown; name?: unknown; cause?: unknown } | undefined;
    e;
  ) {
    if (e.name === 'TimeoutError') return 'timeout';
    if (typeof e.code === 'number' && Number.isInteger(e.code) && e.code !== -1) return String(e.code);
    if (typeof e.status === 'number') return `http_${e.status}`;
    e = e.cause as typeof e;
  }
  return 'network';
}

/** Wraps a transport so every request it makes is timed and its failures counted. */
export function instrumentTransport(transport: HttpTransport, metrics: RpcMetrics): HttpTransport {
  return ((params: Parameters<HttpTransport>[0]) => {
    const inner = transport(params);
    const request: typeof inner.request = async (args, options) => {
      const end = metrics.duration.startTimer({ method: args.method });
      try {
        return await inner.request(args, options);
      } catch (err) {
        metrics.errors.inc({ method: args.method, code: rpcErrorCode(err) });
        throw err;
      } finally {
        end();
      }
    };
    return { ...inner, request };
  }) as HttpTransport;
}

/** The JSON-RPC transport of the config's URL (instrumented when given a registry). */
export function chainTransport(cfg: ChainConfig, opts: TransportOptions = {}): HttpTransport {
  const transport = http(cfg.rpcUrl, { retryCount: opts.retryCount ?? 2, timeout: opts.timeoutMs ?? 10_000 });
  return opts.registry ? instrumentTransport(transport, rpcMetrics(opts.registry)) : transport;
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

export {
  type BlockCheck,
  type CanonicalBlocks,
  type CanonicalBlocksOptions,
  canonicalBlocks,
} from './blocks.js';
