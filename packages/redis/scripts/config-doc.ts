// Rewrites the README's table of this package's config piece (`pnpm --filter @whitepay/redis docs:config`).
import { readFileSync, writeFileSync } from 'node:fs';
import { describeConfig, PIECE_PREFIX, withReadmeConfigTable } from '@whitepay/base';
import { redisConfigSchema } from '../src/index.js';

const path = new URL('../README.md', import.meta.url);
writeFileSync(
  path,
  withReadmeConfigTable(readFileSync(path, 'utf8'), describeConfig(redisConfigSchema, PIECE_PREFIX)),
);
