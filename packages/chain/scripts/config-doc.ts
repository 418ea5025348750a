// Rewrites the README's table of this package's config piece (`pnpm --filter @whitepay/chain docs:config`).
import { readFileSync, writeFileSync } from 'node:fs';
import { describeConfig, PIECE_PREFIX, withReadmeConfigTable } from '@whitepay/base';
import { chainConfigSchema } from '../src/index.js';

const path = new URL('../README.md', import.meta.url);
writeFileSync(
  path,
  withReadmeConfigTable(readFileSync(path, 'utf8'), describeConfig(chainConfigSchema, PIECE_PREFIX)),
);
