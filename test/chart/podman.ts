// The Helm chart, run in real containers (tier 2 of "a Helm release that
// pays"): the same group as test/chart/chart-run.int.test.ts — the README quick
// start for four keepers, the plan commands of k8s/staging.sh, k8s/provider.yaml —
// but every rendered container started from the built images with `podman run`
// on a podman network: each pod its own address on it, every Service name an
// --add-host for the pod behind it, the manifests' user, read-only root
// filesystem and emptyDirs. NATS, Redis, PostgreSQL and anvil run on this
// host, listening on the network's gateway address only.
//
//   bash scripts/chart-podman.sh          (builds the images first; see there)
//   node --conditions=development --import tsx test/chart/podman.ts --tag dev
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startAnvil, startNats, startPostgres, startRedis, waitFor } from '@whitepay/testkit';
import { ensureHelm, REPO_ROOT } from '../k8s/chart.js';
import type { LoopbackCluster } from '../k8s/loopback-cluster.js';
import { runChartGroup } from './group.js';

const { values: o } = parseArgs({
  options: {
    tag: { type: 'string', default: process.env.TAG ?? 'dev' },
    network: { type: 'string', default: 'whitepay-chart' },
    subnet: { type: 'string', default: '10.89.77' },
    keepers: { type: 'string', default: '4' },
    payments: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
  },
});

const t0 = Date.now();
const say = (l: string) =>
  process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${l}\n`);
const state = join(REPO_ROOT, '.tmp', 'images');
const podmanEnv = {
  CONTAINERS_STORAGE_CONF: join(state, 'storage.conf'),
  CONTAINERS_CONF: join(state, 'containers.conf'),
};
const podman = (...args: string[]) =>
  execFileSync('podman', args, { env: { ...process.env, ...podmanEnv }, encoding: 'utf8' }).trim();

const gateway = `${o.subnet}.1`;
const prefix = `localhost/whitepay`;
/** An image the chart names (`whitepay/<service>:<chart appVersion>`) → the one scripts/images.sh built. */
const imageRef = (ref: string) =>
  `${prefix}/${ref
    .replace(/[@:][^/]*$/, '')
    .split('/')
    .pop()}:${o.tag}`;

async function main(): Promise<void> {
  ensureHelm();
  for (const t of [
    'challenger',
    'challenge-store',
    'st-calculator',
    'consensus-coordinator',
    'chain-submitter',
    'provider',
  ])
    try {
      podman('image', 'exists', `${prefix}/${t}:${o.tag}`);
    } catch {
      throw new Error(`no image ${prefix}/${t}:${o.tag}: build it with scripts/images.sh --tag ${o.tag}`);
    }
  const base = podman('images', '--format', '{{.Repository}}:{{.Tag}}', 'localhost/whitepay-base').split(
    '\n',
  )[0];
  if (!base) throw new Error('no localhost/whitepay-base image: run scripts/images.sh');

  // The network, and its gateway address up on the host (a holder container attaches the bridge).
  try {
    podman('network', 'inspect', o.network!);
  } catch {
    podman('network', 'create', '--subnet', `${o.subnet}.0/24`, '--gateway', gateway, o.network!);
  }
  podman(
    'run',
    '-d',
    '--replace',
    '--name',
    'wp-network-holder',
    '--network',
    o.network!,
    '--ip',
    `${o.subnet}.2`,
    base,
    'sleep',
    'infinity',
  );
  await waitFor(
    `gateway ${gateway} on the host`,
    async () => execFileSync('ip', ['-4', 'addr'], { encoding: 'utf8' }).includes(`inet ${gateway}/`),
    30_000,
    250,
  );
  say(`podman network ${o.network} (${o.subnet}.0/24), gateway ${gateway}; images ${prefix}/*:${o.tag}`);

  const work = mkdtempSync(join(tmpdir(), 'whitepay-chart-podman-'));
  mkdirSync(join(work, 'env'), { recursive: true });
  const [nats, redis, pg, anvil] = await Promise.all([
    startNats({ host: gateway, storeDir: join(work, 'nats') }),
    startRedis({ host: gateway }),
    startPostgres({ host: gateway }),
    startAnvil({ host: gateway, blockTime: 1 }),
  ]);
  say(`servers on ${gateway}: ${nats.url} ${redis.url} postgres :${pg.port} ${anvil.rpcUrl}`);
  let cluster: LoopbackCluster | undefined;
  try {
    const result = await runChartGroup({
      work,
      keepers: Number(o.keepers),
      payments: Number(o.payments),
      natsUrl: nats.url,
      redisUrl: redis.url,
      rpcUrl: anvil.rpcUrl,
      databaseUrl: (id) => pg.createDatabase(`keeper_${id}`),
      cluster: {
        image: () => {
          throw new Error('the podman runtime runs images, not host files');
        },
        podman: {
          network: o.network!,
          subnetPrefix: o.subnet!,
          imageRef,
          env: podmanEnv,
          envDir: join(work, 'env'),
        },
      },
      progress: say,
      // 21 containers created at once copy their images on vfs storage: minutes on two cores.
      readyTimeoutMs: 900_000,
      started: (c) => {
        cluster = c;
      },
    });
    say('containers:');
    for (const p of result.cluster.pods)
      say(
        `  ${p.name.padEnd(48)} ${p.ip.padEnd(12)} ${imageRef(p.container.image).padEnd(46)} restarts ${p.restarts}${p.owner.endsWith('-migrate') ? ` exit ${p.exits.join(',')}` : p.ready ? ' ready' : ' NOT READY'}`,
      );
    say(`every provider paid ${o.payments} times: ${result.all.length} payments, balances exact`);
  } finally {
    await cluster?.stop();
    for (const id of podman('ps', '-a', '--filter', 'name=^wp-', '--format', '{{.Names}}')
      .split('\n')
      .filter(Boolean))
      podman('rm', '-f', '-t', '2', id);
    await Promise.allSettled([nats.stop(), redis.stop(), pg.stop(), anvil.stop()]);
    if (!o.keep) rmSync(work, { recursive: true, force: true });
    else say(`kept ${work}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `chart-podman: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
