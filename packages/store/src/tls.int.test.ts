import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { silentLogger } from '@whitepay/base';
import { createServerPki, type PostgresServer, type ServerPki, startPostgres } from '@whitepay/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseTlsOf } from './config.js';
import { closePool, createPool, type Pool, query } from './db.js';
import { StoreError } from './errors.js';
import { migrate } from './migrate.js';

// The store's pool over TLS on a real PostgreSQL whose pg_hba.conf accepts TCP only over
// TLS (`hostssl`), and a second one that also requires a client certificate.
describe('store over TLS on a real PostgreSQL', () => {
  let pki: ServerPki;
  let tls: PostgresServer;
  let mtls: PostgresServer;
  const pools: Pool[] = [];
  beforeAll(async () => {
    pki = await createServerPki();
    [tls, mtls] = await Promise.all([
      startPostgres({ tls: pki }),
      startPostgres({ tls: { ...pki, verifyClients: true } }),
    ]);
  });
  afterAll(async () => {
    for (const p of pools) await closePool(p);
    await tls?.stop();
    await mtls?.stop();
  });
  const pool = (url: string, files: { ca?: string; cert?: string; key?: string }) => {
    const p = createPool({
      url,
      tls: databaseTlsOf({
        databaseTlsCaFile: files.ca,
        databaseTlsCertFile: files.cert,
        databaseTlsKeyFile: files.key,
      }),
      log: silentLogger(),
      connectTimeoutMs: 3000,
    });
    pools.push(p);
    return p;
  };
  const sslInUse = async (p: Pool) =>
    (await query<{ ssl: boolean }>(p, 'ssl', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'))
      .rows[0]?.ssl;

  it('migrates and queries over TLS, verify-full by default with a CA; verify-ca and require work too', async () => {
    const url = await tls.createDatabase('tls_ok');
    const p = pool(url, { ca: pki.caFile });
    await migrate(p);
    expect(await sslInUse(p)).toBe(true);
    expect((await query(p, 'count', 'SELECT count(*)::int AS n FROM pieces')).rows[0]).toEqual({ n: 0 });
    for (const mode of ['verify-ca', 'require', 'verify-full'])
      expect(await sslInUse(pool(`${url}?sslmode=${mode}`, { ca: pki.caFile }))).toBe(true);
    // sslmode=require without a CA: encrypted, not verified (libpq's meaning).
    expect(await sslInUse(pool(`${url}?sslmode=require`, {}))).toBe(true);
  });

  it('refuses, typed, a server whose certificate another CA signed (also with sslmode=require: a CA makes it verify-ca)', async () => {
    const url = await tls.createDatabase('tls_wrong_ca');
    for (const u of [url, `${url}?sslmode=require`]) {
      const err = await query(pool(u, { ca: pki.otherCaFile }), 'probe', 'SELECT 1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).code).toBe('STORE_TLS_REFUSED');
    }
    // verify-full without a CA file: the system trust store, which knows no test CA.
    const sys = await query(pool(`${url}?sslmode=verify-full`, {}), 'probe', 'SELECT 1').catch(
      (e: unknown) => e,
    );
    expect((sys as StoreError).code).toBe('STORE_TLS_REFUSED');
  });

  it('is refused in plaintext by a server that accepts TCP over TLS only', async () => {
    const url = await tls.createDatabase('tls_plain');
    const err = await query(pool(url, {}), 'probe', 'SELECT 1').catch((e: unknown) => e);
    expect((err as StoreError).code).toBe('STORE_AUTH_REFUSED');
    expect((err as StoreError).message).toMatch(/no encryption/);
  });

  it('presents a client certificate to a server that requires one; without one, or with a stranger one, it is refused', async () => {
    const url = await mtls.createDatabase('mtls');
    const ok = pool(url, { ca: pki.caFile, cert: pki.clientCertFile, key: pki.clientKeyFile });
    expect(await sslInUse(ok)).toBe(true);
    const none = await query(pool(url, { ca: pki.caFile }), 'probe', 'SELECT 1').catch((e: unknown) => e);
    expect((none as StoreError).code).toBe('STORE_AUTH_REFUSED');
    const stranger = await query(
      pool(url, { ca: pki.caFile, cert: pki.strangerCertFile, key: pki.strangerKeyFile }),
      'probe',
      'SELECT 1',
    ).catch((e: unknown) => e);
    expect((stranger as StoreError).code).toBe('STORE_TLS_REFUSED');
  });

  it('`whitepay-store migrate` (the Helm hook Job) migrates over TLS from STORE_DATABASE_TLS_CA_FILE, and exits 2 on an unreadable one', async () => {
    const url = await tls.createDatabase('tls_cli');
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    const run = (env: Record<string, string>) =>
      promisify(execFile)(process.execPath, ['--conditions=development', '--import', 'tsx', cli, 'migrate'], {
        env: { PATH: process.env.PATH, STORE_DATABASE_URL: url, ...env },
      }).then(
        () => 0,
        (e: { code?: number }) => e.code ?? -1,
      );
    expect(await run({ STORE_DATABASE_TLS_CA_FILE: pki.caFile })).toBe(0);
    expect(await run({ STORE_DATABASE_TLS_CA_FILE: '/nonexistent/ca.crt' })).toBe(2);
    const p = pool(url, { ca: pki.caFile });
    expect(
      (await query(p, 'n', 'SELECT count(*)::int AS n FROM schema_migrations')).rows[0]!.n,
    ).toBeGreaterThan(0);
  });
});
