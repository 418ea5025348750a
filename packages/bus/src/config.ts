import { z } from 'zod';

/**
 * The NATS piece of a service's config (dYdX's `...kafkaConfigSchema`): spread
 * into the service's shape, read under its prefix (`CHALLENGER_NATS_URL`).
 * Credentials in the URL (`nats://user:pass@host`) are hidden from logs.
 */
export const natsConfigSchema = {
  natsUrl: z
    .string()
    .url()
    .default('nats://127.0.0.1:4222')
    .describe('NATS server URL (`nats://[user:password@]host:port`)'),
  natsNamespace: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional()
    .describe('NATS subject namespace of this keeper; unset means `k<keeperId>`'),
};
