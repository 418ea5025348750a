import { createLogger } from '@whitepay/base';
import { closePool, createPool } from './db.js';
import { migrate } from './migrate.js';

/**
 * `whitepay-store migrate` — applies the migrations to WHITEPAY_STORE_DATABASE_URL
 * (or DATABASE_URL). Run by the Helm pre-install/pre-upgrade hook Job; services
 * also migrate at start (the advisory lock makes concurrent runs safe).
 */
async function main(argv: string[]): Promise<number> {
  const log = createLogger({ service: 'store-cli', level: process.env.LOG_LEVEL ?? 'info' });
  const cmd = argv[0];
  const url = process.env.WHITEPAY_STORE_DATABASE_URL ?? process.env.DATABASE_URL;
  if (cmd !== 'migrate') {
    log.error({ cmd }, 'usage: whitepay-store migrate  (env WHITEPAY_STORE_DATABASE_URL)');
    return 2;
  }
  if (!url) {
    log.error('WHITEPAY_STORE_DATABASE_URL (or DATABASE_URL) is required');
    return 2;
  }
  const pool = createPool({ url, log, max: 1 });
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
