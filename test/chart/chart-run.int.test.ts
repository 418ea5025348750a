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
// a pod runs here without a container runtime.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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
  waitFor,
} from '@whitepay/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { readerFor } from '../devnet/chain.js';
import { groupValues, keeperSecrets, newPlan, provisionProviders, setupPlanChain } from '../devnet/plan.js';
import type { DevnetState } from '../devnet/state.js';
import { PaymentLog } from '../devnet/status.js';
import { expectBalances, expectContiguous, paymentsOf } from '../e2e/network.js';
import {
  dockerfileImages,
  ensureHelm,
  followQuickStart,
  helmTemplate,
  quickStart,
  REPO_ROOT,
} from '../k8s/chart.js';
import { type K8sObject, LoopbackCluster } from '../k8s/loopback-cluster.js';

const NAMESPACE = 'whitepay';
const KEEPERS = 4;
const PAYMENTS = 2;
const CHART_NAME = 'whitepay-keeper';
const coordinatorService = (id: number) => `keeper-${id}-${CHART_NAME}-consensus-coordinator`;
const storeService = (id: number) => `keeper-${id}-${CHART_NAME}-challenge-store`;

/**
 * The built files an image holds, on this machine: an image's `/app` is the built workspace (compiled
 * `dist/` of every package; workspace dependencies resolve to it through the `default` export
 * condition, since the runner never passes `--conditions=development`).
 */
const images = dockerfileImages((target, p) => {
  if (p === '/app' || p.startsWith('/app/')) return join(REPO_ROOT, p.slice('/app'.length));
  throw new Error(`image ${target}: ${p} is outside /app`);
});

describe('the chart, run: four keepers from the README quick start pay every provider twice', () => {
  let work: string;
  let nats: NatsServer;
  let redis: RedisServer;
  let pg: PostgresServer;
  let anvil: AnvilServer;
  let cluster: LoopbackCluster | undefined;
  let plan: DevnetState;
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
    plan = newPlan({
      keepers: KEEPERS,
      providers: 3,
      blockTime: 1,
      period: 16n,
      window: 8n,
      price: 10n ** 27n,
    });
    await setupPlanChain(anvil.rpcUrl, plan, () => {}, progress);

    // The group file, as the README shows it: chain, members (peers reach each other's coordinator
    // Service), the staging provider node of k8s/provider.yaml.
    const group = groupValues(plan, {
      peer: (k) => `${coordinatorService(k.id)}:50051`,
      providers: [{ pid: '*', address: 'whitepay-provider:7000' }],
    });
    writeFileSync(join(work, 'group.yaml'), stringify(group));
    symlinkSync(join(REPO_ROOT, 'deploy'), join(work, 'deploy'));

    const objects: K8sObject[] = [];
    const secrets: Record<string, Record<string, string>> = {};
    for (const k of plan.keepers) {
      const keys = keeperSecrets(plan, k);
      const run = followQuickStart(
        quickStart(),
        {
          KEEPER_ID: String(k.id),
          ACCOUNT_KEY: keys['account-key'],
          BLS_SECRET_KEY: keys['bls-secret-key'],
          DATABASE_URL: await pg.createDatabase(`keeper_${k.id}`),
          NATS_URL: nats.url,
          REDIS_URL: redis.url,
          RPC_URL: anvil.rpcUrl,
        },
        NAMESPACE,
      );
      Object.assign(secrets, run.secrets);
      for (const install of run.installs) objects.push(...helmTemplate(install.templateArgs, work));
    }
    objects.push(
      ...parseAllDocuments(readFileSync(join(REPO_ROOT, 'k8s', 'provider.yaml'), 'utf8')).map(
        (d) => d.toJS() as K8sObject,
      ),
    );
    expect(objects.filter((o) => o.kind === 'Deployment')).toHaveLength(KEEPERS * 5 + 1);
    expect(objects.filter((o) => o.kind === 'Job')).toHaveLength(KEEPERS);

    cluster = new LoopbackCluster({
      namespace: NAMESPACE,
      objects,
      secrets,
      image: images,
      logDir: join(work, 'pods'),
    });
    cluster.plan();
    progress('running the migration Jobs');
    await cluster.runJobs();
    progress('starting the Deployments');
    cluster.startDeployments();
    await cluster.waitReady(240_000, progress);
    progress('every pod ready');

    await provisionProviders(
      anvil.rpcUrl,
      plan,
      {
        provider: () => cluster!.serviceAddress('whitepay-provider', 7000),
        store: (k) => cluster!.serviceAddress(storeService(k.id), 50051),
      },
      [64 * 1024, 256 * 1024],
      () => {},
      progress,
    );

    const net = { state: plan, reader: readerFor(anvil.rpcUrl, plan.chain.chainId) };
    const log = new PaymentLog(net);
    await waitFor(
      `every provider paid ${PAYMENTS} times (pod logs in ${join(work, 'pods')})`,
      async () => {
        const all = await log.poll();
        return plan.providers.every((p) => paymentsOf(all, p.pid).length >= PAYMENTS);
      },
      240_000,
      1_000,
    );
    const all = log.payments;
    expectContiguous(net, all);
    await expectBalances(net, all);
    for (const p of plan.providers) expect(paymentsOf(all, p.pid).every((x) => x.st > 0n)).toBe(true);
    const restarts = cluster.pods.filter((p) => p.restarts > 0).map((p) => `${p.name}: ${p.restarts}`);
    progress(`paid: ${all.length} payments; restarts: ${restarts.join(', ') || 'none'}`);
    console.log(lines.join('\n'));
    expect(cluster.pods.every((p) => p.ready || p.owner.endsWith('-migrate'))).toBe(true);
  }, 600_000);
});
