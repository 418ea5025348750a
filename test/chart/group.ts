// One keeper group installed from the chart README's quick start and run until
// it pays: the shared part of the chart's two run tiers — processes over the
// built files (test/chart/chart-run.int.test.ts, in `pnpm check`) and real
// containers of the built images under podman (test/chart/podman.ts,
// scripts/chart-podman.sh). The network plan's steps run as the commands
// k8s/staging.sh runs (test/devnet/plan-cli.ts).
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encryptSecretKey, fromHex } from '@whitepay/bls';
import { encryptPrivateKey } from '@whitepay/ecdsa';
import { createGroupPki } from '@whitepay/testkit';
import { parseAllDocuments } from 'yaml';
import { readerFor } from '../devnet/chain.js';
import { loadPlan } from '../devnet/plan.js';
import type { DevnetState } from '../devnet/state.js';
import { type Payment, PaymentLog } from '../devnet/status.js';
import { expectBalances, expectContiguous, paymentsOf } from '../e2e/network.js';
import { followQuickStart, helmTemplate, quickStart, REPO_ROOT } from '../k8s/chart.js';
import { type ClusterOptions, type K8sObject, LoopbackCluster } from '../k8s/loopback-cluster.js';

export const NAMESPACE = 'whitepay';
const CHART_NAME = 'whitepay-keeper';
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

export interface GroupRun {
  /** A scratch directory: plan, group file, env files, pod logs. */
  work: string;
  keepers: number;
  payments: number;
  /** Where the pods reach the shared servers (and this process reaches the chain). */
  natsUrl: string;
  redisUrl: string;
  rpcUrl: string;
  databaseUrl(keeperId: number): Promise<string>;
  /** How the rendered pods run (processes or podman). */
  cluster: Omit<ClusterOptions, 'namespace' | 'objects' | 'secrets' | 'logDir'>;
  progress(line: string): void;
  /** How long every pod may take to be ready (default 240 s). */
  readyTimeoutMs?: number;
  /** Called with the cluster as soon as it exists (to stop it on failure). */
  started?(cluster: LoopbackCluster): void;
}

export interface GroupResult {
  cluster: LoopbackCluster;
  plan: DevnetState;
  all: readonly Payment[];
}

/**
 * The group as k8s/staging.sh brings it up, on the given runtime: the plan's chain (factory, Upkeeping,
 * keepers with proofs of possession), the group file, each keeper's keys as keystores with their
 * passphrase file and its peer certificate (mTLS between the keepers); the README quick start per
 * keeper, rendered; the migration Jobs, then every Deployment until each pod is ready; the provider's
 * pieces stored and registered, the providers added; then until every provider is paid `payments`
 * times. Checks the ledger: contiguous intervals, no tid twice, every balance exactly core's split.
 */
export async function runChartGroup(o: GroupRun): Promise<GroupResult> {
  const { work, progress } = o;
  const KEEPERS = o.keepers;
  const PAYMENTS = o.payments;
  const anvil = { rpcUrl: o.rpcUrl };
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
  void paymentsOf;

  const objects: K8sObject[] = [];
  const secrets: Record<string, Record<string, string>> = {};
  // The group's peer PKI: one CA, each keeper's certificate naming urn:whitepay:keeper:<id>:<account>.
  const pki = await createGroupPki(join(work, 'pki'));
  for (const k of plan.keepers) {
    await planCli(
      ['keys', '--plan', planFile, '--keeper', String(k.id), '--out', join(work, `keeper-${k.id}.env`)],
      progress,
    );
    const keys = envFile(join(work, `keeper-${k.id}.env`));
    // What the quick start's operator holds in its directory: the plan's registered keys as keystores
    // under one passphrase (the files `whitepay keeper keygen --account` writes; PBKDF2 rather than its
    // scrypt, so that sixteen decryptions at once cost seconds, not 256 MiB each), the group's CAs and
    // its peer certificate.
    const dir = join(work, `keeper-${k.id}`);
    mkdirSync(dir, { recursive: true });
    const passphrase = `passphrase of keeper ${k.id}`;
    writeFileSync(join(dir, 'passphrase'), `${passphrase}\n`, { mode: 0o600 });
    const account = await encryptPrivateKey(keys['account-key'] as `0x${string}`, passphrase, {
      kdf: 'pbkdf2',
    });
    writeFileSync(join(dir, 'account-keystore.json'), JSON.stringify(account), { mode: 0o600 });
    const bls = await encryptSecretKey(fromHex(keys['bls-secret-key'] ?? ''), passphrase, { kdf: 'pbkdf2' });
    writeFileSync(join(dir, 'bls-keystore.json'), JSON.stringify(bls), { mode: 0o600 });
    const tls = await pki.env('PEER', k.id, k.account);
    copyFileSync(pki.caFile, join(dir, 'group-cas.pem'));
    copyFileSync(tls.PEER_PEER_TLS_CERT_FILE!, join(dir, 'keeper.crt'));
    copyFileSync(tls.PEER_PEER_TLS_KEY_FILE!, join(dir, 'keeper.key'));
    const run = followQuickStart(
      quickStart(),
      {
        KEEPER_ID: String(k.id),
        DATABASE_URL: await o.databaseUrl(k.id),
        NATS_URL: o.natsUrl,
        REDIS_URL: o.redisUrl,
        RPC_URL: anvil.rpcUrl,
      },
      NAMESPACE,
      dir,
    );
    Object.assign(secrets, run.secrets);
    for (const install of run.installs) objects.push(...helmTemplate(install.templateArgs, work));
  }
  objects.push(
    ...parseAllDocuments(readFileSync(join(REPO_ROOT, 'k8s', 'provider.yaml'), 'utf8')).map(
      (d) => d.toJS() as K8sObject,
    ),
  );
  const deployments = objects.filter((x) => x.kind === 'Deployment').length;
  const jobs = objects.filter((x) => x.kind === 'Job').length;
  if (deployments !== KEEPERS * 5 + 1 || jobs !== KEEPERS)
    throw new Error(`rendered ${deployments} Deployments and ${jobs} Jobs for ${KEEPERS} keepers`);

  const cluster = new LoopbackCluster({
    ...o.cluster,
    namespace: NAMESPACE,
    objects,
    secrets,
    logDir: join(work, 'pods'),
  });
  o.started?.(cluster);
  cluster.plan();
  progress('running the migration Jobs');
  await cluster.runJobs();
  progress('starting the Deployments');
  cluster.startDeployments();
  await cluster.waitReady(o.readyTimeoutMs ?? 240_000, progress);
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
  const net = { state: provisioned, reader: readerFor(o.rpcUrl, provisioned.chain.chainId) };
  const log = new PaymentLog(net);
  const all = await log.poll();
  expectContiguous(net, all);
  await expectBalances(net, all, log.head);
  for (const p of provisioned.providers) {
    const mine = paymentsOf(all, p.pid);
    if (mine.length < PAYMENTS) throw new Error(`${p.name}: paid ${mine.length} times, want ${PAYMENTS}`);
    if (!mine.every((x) => x.st > 0n)) throw new Error(`${p.name}: a payment of st 0`);
  }
  const restarts = cluster.pods.filter((p) => p.restarts > 0).map((p) => `${p.name}: ${p.restarts}`);
  progress(`paid: ${all.length} payments, balances exact; restarts: ${restarts.join(', ') || 'none'}`);
  return { cluster, plan: provisioned, all };
}
