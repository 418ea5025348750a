import { loadServiceConfig, parseConfig, serviceLogger } from '@whitepay/base';
import { CLI_PREFIX, cliConfigShape } from './cli-config.js';
import { databaseTlsOf } from './config.js';
import { closePool, createPool } from './db.js';
import { migrate } from './migrate.js';

/**
 * `whitepay-store migrate` — applies the migrations to `STORE_DATABASE_URL`.
 * Run by the Helm pre-install/pre-upgrade hook Job; services also migrate at
 * start (the advisory lock makes concurrent runs safe). Exit codes: 0 done,
 * 1 migration failed, 2 usage or configuration error.
 */
async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (cmd !== 'migrate') {
    process.stderr.write('usage: whitepay-store migrate  (env STORE_DATABASE_URL, STORE_DATABASE_TLS_*)\n');
    return 2;
  }
  const config = loadServiceConfig('store-migrate', () => parseConfig(cliConfigShape, CLI_PREFIX));
  const log = serviceLogger({ service: 'store-migrate', shape: cliConfigShape, config });
  let pool: ReturnType<typeof createPool>;
  try {
    pool = createPool({ url: config.databaseUrl, tls: databaseTlsOf(config, CLI_PREFIX), log, max: 1 });
  } catch (err) {
    log.error({ err }, 'invalid database TLS configuration');
    return 2;
  }
  try {
    const res = await migrate(pool, { log });
    log.info({ applied: res.applied, current: res.current }, 'migrations up to date');
    return 0;
  } catch (err) {
    log.error({ err }, 'migration failed');
    return 1;
  } finally {
    await closePool(pool);
  }
}

process.exitCode = await main(process.argv.slice(2));
