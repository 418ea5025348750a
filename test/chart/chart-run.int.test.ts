// The Helm chart, run (tier 1 of "a Helm release that pays"): the chart
// README's quick start, followed literally for a group of four keepers (four
// releases, each with its own key Secret and database Secret, one shared group
// file), rendered by helm and run as a kubelet would run it — the migration
// hook Job first, then every Deployment's container command with exactly its
// rendered environment, over the compiled files the images carry — against
// real NATS, Redis, PostgreSQL and anvil (the contracts deployed, the keepers
// registered with proofs of possession by the network plan that k8s/staging.sh
// uses) and a real provider node from k8s/provider.yaml, until every provider
// is paid twice with exact balances. See test/k8s/loopback-cluster.ts for how
// a pod runs here without a container runtime; test/chart/podman.ts runs the
// same group in real containers.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AnvilServer,
  type NatsServer,
  type PostgresServer,
  type RedisServer,
  startAnvil,
  startNats,
  startPostgres,
  startRedis,
} from '@whitepay/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerfileImages, ensureHelm, REPO_ROOT } from '../k8s/chart.js';
import type { LoopbackCluster } from '../k8s/loopback-cluster.js';
import { runChartGroup } from './group.js';

/**
 * The built files an image holds, on this machine: a service image's `/app` is its package as `pnpm deploy`
 * lays it out — its compiled `dist/` and its dependencies in `node_modules` — which here is the service's
 * own directory (its workspace dependencies resolve to their compiled `dist/` through the `default`
 * export condition: the runner never passes `--conditions=development`).
 */
const images = dockerfileImages((target, p) => {
  if (p === '/app' || p.startsWith('/app/'))
    return join(REPO_ROOT, 'services', target, p.slice('/app'.length));
  throw new Error(`image ${target}: ${p} is outside /app`);
});

describe('the chart, run: four keepers from the README quick start pay every provider twice', () => {
  let work: string;
  let nats: NatsServer;
  let redis: RedisServer;
  let pg: PostgresServer;
  let anvil: AnvilServer;
  let cluster: LoopbackCluster | undefined;
  const lines: string[] = [];
  const progress = (l: string) => {
    lines.push(`${new Date().toISOString()} ${l}`);
  };

  beforeAll(async () => {
    ensureHelm();
    // What the images are built from: the compiled services and packages.
    execFileSync('pnpm', ['exec', 'tsc', '-b'], { cwd: REPO_ROOT, stdio: 'inherit' });
    work = mkdtempSync(join(tmpdir(), 'whitepay-chart-'));
    [nats, redis, pg, anvil] = await Promise.all([
      startNats({ storeDir: join(work, 'nats') }),
      startRedis(),
      startPostgres(),
      startAnvil({ blockTime: 1 }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await Promise.allSettled([nats?.stop(), redis?.stop(), pg?.stop(), anvil?.stop()]);
    if (process.env.WHITEPAY_CHART_KEEP !== '1' && work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('installs, migrates, starts every pod ready and settles', async () => {
    try {
      const result = await runChartGroup({
        work,
        keepers: 4,
        payments: 2,
        natsUrl: nats.url,
        redisUrl: redis.url,
        rpcUrl: anvil.rpcUrl,
        databaseUrl: (id) => pg.createDatabase(`keeper_${id}`),
        cluster: { image: images },
        progress,
        started: (c) => {
          cluster = c;
        },
      });
      expect(result.all.length).toBeGreaterThanOrEqual(2 * result.plan.providers.length);
      expect(result.cluster.pods.every((p) => p.ready || p.owner.endsWith('-migrate'))).toBe(true);
    } finally {
      console.log(lines.join('\n'));
    }
  }, 600_000);
});
