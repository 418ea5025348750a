import { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * The Redis piece of a service's config, spread into its shape and read under
 * its prefix (`CHAIN_SUBMITTER_REDIS_URL`). Credentials in the URL
 * (`redis://user:pass@host`) are hidden from logs.
 */
export const redisConfigSchema = {
  redisUrl: z
    .string()
    .url()
    .default('redis://127.0.0.1:6379')
    .describe('Redis URL (`redis://[user:password@]host:port[/db]`)'),
  redisPrefix: z
    .string()
    .optional()
    .describe('prefix of every Redis key this service writes; unset means `whitepay:<namespace>:<service>`'),
  queuePrefix: z
    .string()
    .optional()
    .describe(
      'BullMQ key prefix, shared by the coordinator and the chain-submitter; unset means `whitepay:<namespace>:bull`',
    ),
};

export interface RedisConfig {
  redisUrl: string;
}

/** The one way a service connects to Redis: at most 3 retries per command, then the command fails. */
export function createRedis(cfg: RedisConfig): Redis {
  return new Redis(cfg.redisUrl, { maxRetriesPerRequest: 3 });
}
