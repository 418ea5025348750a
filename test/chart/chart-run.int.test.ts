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
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
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
import { parseAllDocuments } from 'yaml';
import { readerFor } from '../devnet/chain.js';
import { loadPlan } from '../devnet/plan.js';
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

/** One command of the network plan, exactly as k8s/staging.sh runs it (asynchronously: pods keep running). */
function planCli(args: string[], progress: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', 'test/devnet/plan-cli.ts', ...args],
      { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        for (const l of stdout.split('\n').filter(Boolean)) progress(l);
        if (err) reject(new Error(`plan-cli ${args[0]}: ${err.message}\n${stderr}`));
        else resolve();
      },
    );
  });
}

/** A `key=value` env file (`kubectl create secret --from-env-file`). */
const envFile = (path: string): Record<string, string> =>
  Object.fromEntries(
    readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

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
    // The plan's steps as k8s/staging.sh runs them: the chain, the group file, each keeper's keys.
    const planFile = join(work, 'plan.json');
    await planCli(
      [
        'chain',
        '--plan',
        planFile,
        '--rpc',
        anvil.rpcUrl,
        '--keepers',
        String(KEEPERS),
        '--period',
        '16',
        '--window',
        '8',
      ],
      progress,
    );
    // The group file, as the README shows it: chain, members (peers reach each other's coordinator
    // Service), the staging provider node of k8s/provider.yaml.
    await planCli(
      [
        'group',
        '--plan',
        planFile,
        '--out',
        join(work, 'group.yaml'),
        '--peer',
        `keeper-{id}-${CHART_NAME}-consensus-coordinator:50051`,
        '--provider-address',
        'whitepay-provider:7000',
      ],
      progress,
    );
    symlinkSync(join(REPO_ROOT, 'deploy'), join(work, 'deploy'));
    const plan = loadPlan(planFile);

    const objects: K8sObject[] = [];
    const secrets: Record<string, Record<string, string>> = {};
    for (const k of plan.keepers) {
      await planCli(
        ['keys', '--plan', planFile, '--keeper', String(k.id), '--out', join(work, `keeper-${k.id}.env`)],
        progress,
      );
      const keys = envFile(join(work, `keeper-${k.id}.env`));
      const run = followQuickStart(
        quickStart(),
        {
          KEEPER_ID: String(k.id),
          ACCOUNT_KEY: keys['account-key'] ?? '',
          BLS_SECRET_KEY: keys['bls-secret-key'] ?? '',
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

    await planCli(
      [
        'provision',
        '--plan',
        planFile,
        '--rpc',
        anvil.rpcUrl,
        '--provider-address',
        cluster.serviceAddress('whitepay-provider', 7000),
        '--store',
        plan.keepers.map((k) => `${k.id}=${cluster!.serviceAddress(storeService(k.id), 50051)}`).join(','),
      ],
      progress,
    );
    await planCli(
      ['wait', '--plan', planFile, '--rpc', anvil.rpcUrl, '--payments', String(PAYMENTS), '--timeout', '240'],
      progress,
    );

    const provisioned = loadPlan(planFile);
    const net = { state: provisioned, reader: readerFor(anvil.rpcUrl, plan.chain.chainId) };
    const log = new PaymentLog(net);
    await log.poll();
    const all = log.payments;
    expectContiguous(net, all);
    await expectBalances(net, all);
    for (const p of provisioned.providers) {
      expect(paymentsOf(all, p.pid).length).toBeGreaterThanOrEqual(PAYMENTS);
      expect(paymentsOf(all, p.pid).every((x) => x.st > 0n)).toBe(true);
    }
    const restarts = cluster.pods.filter((p) => p.restarts > 0).map((p) => `${p.name}: ${p.restarts}`);
    progress(`paid: ${all.length} payments; restarts: ${restarts.join(', ') || 'none'}`);
    console.log(lines.join('\n'));
    expect(cluster.pods.every((p) => p.ready || p.owner.endsWith('-migrate'))).toBe(true);
  }, 600_000);
});
