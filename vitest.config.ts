import { defineConfig } from 'vitest/config';

// One runner for the whole workspace. Unit tests live beside the code
// (`src/**/*.test.ts`); integration tests start real servers through
// `@whitepay/testkit` and are named `*.int.test.ts`; the cross-service suite is
// in `test/`.
export default defineConfig({
  resolve: { conditions: ['development'] },
  ssr: { resolve: { conditions: ['development'] } },
  test: {
    include: ['{packages,services,contracts,test}/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    coverage: {
      provider: 'v8',
      include: ['packages/*/src/**/*.ts'],
      exclude: ['**/*.test.ts', '**/generated/**', '**/bench/**'],
      reporter: ['text-summary', 'json-summary'],
    },
  },
});
