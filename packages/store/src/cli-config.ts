import { common, secret } from '@whitepay/base';
import { storeConfigSchema } from './config.js';

/** Variables of `whitepay-store migrate` (prefix `STORE_`): what the Helm migration Job sets. */
export const CLI_PREFIX = 'STORE';
export const cliConfigShape = {
  databaseUrl: secret(storeConfigSchema.databaseUrl, 'PostgreSQL connection string of the keeper database'),
  databaseTlsCaFile: storeConfigSchema.databaseTlsCaFile,
  databaseTlsCertFile: storeConfigSchema.databaseTlsCertFile,
  databaseTlsKeyFile: storeConfigSchema.databaseTlsKeyFile,
  logLevel: common.logLevel,
};
