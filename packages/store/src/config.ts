import { type ClientTlsMaterial, readClientTls, secret } from '@whitepay/base';
import { z } from 'zod';

/**
 * The PostgreSQL piece of a service's config (dYdX's `...postgresConfigSchema`),
 * spread into its shape and read under its prefix
 * (`CHALLENGE_STORE_DATABASE_URL`). The URL is a secret: redacted in logs.
 *
 * TLS follows the URL's `sslmode` (libpq's names): with `DATABASE_TLS_CA_FILE`
 * the default is `verify-full` (the server certificate chains to the CA and
 * names the URL's host), `verify-ca` skips the name, `require` is `verify-ca`;
 * `disable`, `allow` and `prefer` (which may fall back to plaintext) are
 * refused with a CA. Without one: no `sslmode` is plaintext, `require` and
 * `prefer` encrypt without verifying, `verify-ca`/`verify-full` verify with
 * the system trust store. `DATABASE_TLS_CERT_FILE` and
 * `DATABASE_TLS_KEY_FILE` present a client certificate (`cert` auth).
 */
export const storeConfigSchema = {
  databaseUrl: secret(
    z.string().min(1),
    'PostgreSQL connection string (`postgres://user:password@host:port/db[?sslmode=verify-full]`)',
  ),
  databaseTlsCaFile: z
    .string()
    .optional()
    .describe(
      "PEM bundle of the CAs the PostgreSQL server's certificate must chain to; turns TLS on (`sslmode` defaults to `verify-full`)",
    ),
  databaseTlsCertFile: z
    .string()
    .optional()
    .describe('PEM client certificate presented to PostgreSQL (mutual TLS); with `DATABASE_TLS_KEY_FILE`'),
  databaseTlsKeyFile: z.string().optional().describe('PEM private key of `DATABASE_TLS_CERT_FILE`'),
  dbPoolSize: z.coerce
    .number()
    .int()
    .positive()
    .default(10)
    .describe('PostgreSQL connections of this replica'),
};

export interface DatabaseTlsConfig {
  databaseTlsCaFile?: string | undefined;
  databaseTlsCertFile?: string | undefined;
  databaseTlsKeyFile?: string | undefined;
}

/** The TLS material of a store config (`TLS_FILE_INVALID` when a file cannot be read); undefined without files. */
export function databaseTlsOf(config: DatabaseTlsConfig, prefix = ''): ClientTlsMaterial | undefined {
  const v = (name: string) => (prefix ? `${prefix}_${name}` : name);
  return readClientTls(
    {
      caFile: config.databaseTlsCaFile,
      certFile: config.databaseTlsCertFile,
      keyFile: config.databaseTlsKeyFile,
    },
    { ca: v('DATABASE_TLS_CA_FILE'), cert: v('DATABASE_TLS_CERT_FILE'), key: v('DATABASE_TLS_KEY_FILE') },
  );
}
