import { secret } from '@whitepay/base';
import { z } from 'zod';

/**
 * The PostgreSQL piece of a service's config (dYdX's `...postgresConfigSchema`),
 * spread into its shape and read under its prefix
 * (`CHALLENGE_STORE_DATABASE_URL`). The URL is a secret: redacted in logs.
 */
export const storeConfigSchema = {
  databaseUrl: secret(
    z.string().min(1),
    'PostgreSQL connection string (`postgres://user:password@host:port/db`)',
  ),
  dbPoolSize: z.coerce
    .number()
    .int()
    .positive()
    .default(10)
    .describe('PostgreSQL connections of this replica'),
};
