// Rewrites the README's configuration table from src/config.ts (`pnpm --filter @whitepay/provider docs:config`).
import { readFileSync, writeFileSync } from 'node:fs';
import { describeConfig } from '@whitepay/base';
import { configShape, PREFIX } from '../src/config.js';

const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const table = describeConfig(configShape, PREFIX);
writeFileSync(
  path,
  readme.replace(
    /<!-- config:start -->\n[\s\S]*?\n<!-- config:end -->/,
    `<!-- config:start -->\n${table}\n<!-- config:end -->`,
  ),
);
