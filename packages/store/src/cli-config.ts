import { common, secret } from '@whitepay/base';
import { z } from 'zod';

/** Variables of `whitepay-store migrate` (prefix `STORE_`): what the Helm migration Job sets. */
export const CLI_PREFIX = 'STORE';
export const cliConfigShape = {
  databaseUrl: secret(z.string().min(1), 'PostgreSQL connection string of the keeper database'),
  logLevel: common.logLevel,
};
