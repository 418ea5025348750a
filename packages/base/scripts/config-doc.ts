// Rewrites the README's table of this package's config piece (`pnpm --filter @whitepay/base docs:config`).
import { readFileSync, writeFileSync } from 'node:fs';
import { serviceConfigSchema } from '../src/config.js';
import { describeConfig, PIECE_PREFIX, withReadmeConfigTable } from '../src/index.js';

const path = new URL('../README.md', import.meta.url);
writeFileSync(
  path,
  withReadmeConfigTable(readFileSync(path, 'utf8'), describeConfig(serviceConfigSchema, PIECE_PREFIX)),
);
