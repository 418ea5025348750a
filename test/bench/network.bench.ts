// A local network at scale (issue "Scale"): KEEPERS keepers, each with its five services as
// separate processes (challenge-store, st-calculator, chain-submitter, challenger,
// consensus-coordinator with batch rounds on), ONE multi-tenant provider node serving PROVIDERS
// providers (one 16 KiB piece each, registered with every keeper by user-signed requests), real
// nats-server -js, redis-server, PostgreSQL (a database per keeper) and anvil (prague, a block
// every BLOCK_TIME s) with the Upkeeping deployed and every provider added on-chain.
//
// It runs until every provider is due its PERIODS-th payment (+ one window), then reads every
// PaymentMade / PaymentSkipped / BatchSettled and reports: per period, how many providers were
// settled and how late (blocks after ts + H); whether every provider's paid intervals are
// contiguous from the block it was added (no gap, nothing paid twice); gas per provider of the
// batches; CPU (% of one core, averaged over the run) and peak RSS per service.
//
// `pnpm bench network`; knobs (env): PROVIDERS=10000 KEEPERS=4 BLOCK_TIME=2 K=60 H=120 T=30
// PERIODS=3 BATCH_MAX=500 SETTLE_WAIT_MS=<ms> (both st-calculator settle waits) PEER_DEADLINE_MS=<ms> (unset: the coordinator's default, 3,000 + 10 per
// entry) LOG_LEVEL=warn KEEP_LOGS=1 (logs stay in the printed folder) BENCH_PROF=<dir> (V8 CPU
// profiles of every keeper service).
import { rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { upkeepingAbi } from '@whitepay/contracts';
import { providerV1, storeV1 } from '@whitepay/proto';
import { insecure } from '@whitepay/rpc';
import {
  createGroupPki,
  freePort,
  startAnvil,
  startNats,
  startPostgres,
  startRedis,
  tempDir,
  waitFor,
} from '@whitepay/testkit';
import {
  type Address,
  BaseError,
  createWalletClient,
  encodeFunctionData,
  type GetContractEventsReturnType,
  type Hex,
  http,
  keccak256,
  numberToHex,
  ResponseBodyTooLargeError,
  toHex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { devnetChain, readerFor, setupChain } from '../devnet/chain.js';
import { httpOk } from '../devnet/devnet.js';
import { type Endpoints, keeperServiceSpec, procName, providerSpec } from '../devnet/services.js';
import {
  type DevnetState,
  type KeeperState,
  keeperState,
  providerState,
  SERVICES,
  type ServiceName,
} from '../devnet/state.js';
import { Supervisor } from '../devnet/supervisor.js';
import { anvilKey } from '../harness/chain.js';
import { findPid, Sampler } from './proc.js';
import { metric, metricSeries, pool, storeAndRegisterPiece } from './util.js';

const env = (name: string, def: number) => Number(process.env[name] ?? def);
const PROVIDERS = env('PROVIDERS', 10_000);
const KEEPERS = env('KEEPERS', 4);
const BLOCK_TIME = env('BLOCK_TIME', 2);
const K = env('K', 60);
const H = BigInt(env('H', 120));
const T = BigInt(env('T', 30));
const PERIODS = env('PERIODS', 3);
const BATCH_MAX = env('BATCH_MAX', 500);
const LOG_LEVEL = process.env.LOG_LEVEL ?? 'warn';
/** Unset: the coordinator's own default applies (run H measured it at 10,000 providers). */
const PEER_DEADLINE_MS = process.env.PEER_DEADLINE_MS;
/** The st-calculators' own and peer settle waits (ms), both; default theirs (2,000 each). */
const SETTLE_WAIT_MS = process.env.SETTLE_WAIT_MS;
/** BENCH_PROF=<dir>: V8 CPU profiles of every keeper service, written when it stops. */
const PROF = process.env.BENCH_PROF;
/** BENCH_PROF_SERVICES=consensus-coordinator,…: profile only these services (profiling every process skews the run). */
const PROF_SERVICES = (process.env.BENCH_PROF_SERVICES ?? '').split(',').filter(Boolean);
const PIECE = 16 * 1024;
// 1 gwei per byte·block: 16 KiB for 120 blocks ≈ 0.002 ETH per provider and period.
const PRICE = 10n ** 27n;

const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
const say = (line: string) => process.stderr.write(`[${elapsed()}] ${line}\n`);

const quantile = (xs: readonly number[], q: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** CPU (% of one core, mean over the run) and peak RSS per kind of process, as markdown lines. */
function serviceTable(usage: Record<string, { cpu: number; rssMiB: number }>): string[] {
  const kinds = [...SERVICES, 'provider', 'nats', 'redis', 'postgres', 'anvil'] as const;
  const rows = kinds.map((kind) => {
    const entries = Object.entries(usage).filter(([name]) => name === kind || name.endsWith(`-${kind}`));
    const cpu = entries.map(([, u]) => u.cpu);
    const rss = entries.map(([, u]) => u.rssMiB);
    const sum = cpu.reduce((a, b) => a + b, 0);
    return `| ${kind} | ${entries.length} | ${(sum / entries.length).toFixed(1)} | ${Math.max(...cpu).toFixed(1)} | ${sum.toFixed(1)} | ${Math.max(...rss).toFixed(0)} |`;
  });
  const all = Object.values(usage).reduce((a, u) => a + u.cpu, 0);
  return [
    'CPU in % of one core averaged over the run; RSS = peak MiB (PostgreSQL: postmaster + backends).',
    '',
    '| service | processes | CPU % each (mean) | CPU % max | CPU % all | RSS MiB max |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    `| **all** | ${Object.keys(usage).length} | | | ${all.toFixed(0)} | |`,
  ];
}

// ---------------------------------------------------------------- infrastructure

const work = await tempDir('bench-network');
const [nats, redis, pg, anvil] = await Promise.all([
  startNats(),
  startRedis(),
  startPostgres(),
  startAnvil({ blockTime: BLOCK_TIME, accounts: 20 }),
]);
const endpoints: Endpoints = {
  natsUrl: nats.url,
  redisUrl: redis.url,
  postgresPort: pg.port,
  rpcUrl: anvil.rpcUrl,
};
const supervisor = new Supervisor(join(work.path, 'logs'));

let cleaned = false;
const cleanup = async () => {
  if (cleaned) return;
  cleaned = true;
  await Promise.allSettled(
    [...Array(KEEPERS).keys()].map((i) => supervisor.stop(procName(i + 1, 'consensus-coordinator'))),
  );
  await supervisor.stopAll();
  await Promise.allSettled([anvil.stop(), nats.stop(), redis.stop(), pg.stop()]);
  if (process.env.KEEP_LOGS) say(`logs kept in ${join(work.path, 'logs')}`);
  else rmSync(work.path, { recursive: true, force: true });
};

for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    say(`${sig}: stopping every process`);
    void cleanup().finally(() => process.exit(130));
  });

try {
  // ---------------------------------------------------------------- keepers, chain
  const seed = keccak256(toHex(`bench network ${Date.now()}`));
  const keepers: KeeperState[] = [];
  for (let i = 0; i < KEEPERS; i++) {
    const k = keeperState(seed, 0, i);
    for (const p of Object.keys(k.ports) as Array<keyof KeeperState['ports']>) k.ports[p] = await freePort();
    keepers.push(k);
  }
  const providerNode = providerState(0, 0);
  providerNode.grpcPort = await freePort();
  providerNode.httpPort = await freePort();
  const userKey = anvilKey(0);
  const state: DevnetState = {
    version: 1,
    createdAt: new Date().toISOString(),
    seed,
    adminToken: keccak256(seed).slice(2, 50),
    ports: { nats: nats.port, redis: redis.port, postgres: pg.port, anvil: anvil.port, control: 0 },
    chain: {
      chainId: anvil.chainId,
      blockTime: BLOCK_TIME,
      user: privateKeyToAccount(userKey).address,
      userKey,
      config: { price: String(PRICE), period: String(H), window: String(T) },
    },
    keepers,
    providers: [],
    pieceNonce: '1',
  };
  await setupChain(anvil.rpcUrl, state, () => {}, say);
  const upkeeping = state.chain.upkeeping!;
  const reader = readerFor(anvil.rpcUrl, anvil.chainId);
  /**
   * The Upkeeping's events of [from, to], read in ranges that halve when a response is too large:
   * viem reads at most 10 MB per response, and 30,000 PaymentMade logs are ~38 MB.
   */
  const eventsOf = async <N extends 'PaymentMade' | 'PaymentSkipped' | 'BatchSettled'>(
    eventName: N,
    from: bigint,
    to: bigint,
  ): Promise<GetContractEventsReturnType<typeof upkeepingAbi, N>> => {
    try {
      return await reader.getContractEvents({
        address: upkeeping,
        abi: upkeepingAbi,
        eventName,
        fromBlock: from,
        toBlock: to,
      });
    } catch (err) {
      const tooLarge = err instanceof BaseError && err.walk((e) => e instanceof ResponseBodyTooLargeError);
      if (!tooLarge || from >= to) throw err;
      const mid = (from + to) / 2n;
      return [
        ...(await eventsOf(eventName, from, mid)),
        ...(await eventsOf(eventName, mid + 1n, to)),
      ] as never;
    }
  };
  say(
    `chain: factory ${state.chain.factory}, Upkeeping ${upkeeping} (H=${H}, T=${T}, ${BLOCK_TIME} s blocks)`,
  );

  // ---------------------------------------------------------------- processes
  const dbUrls = new Map<number, string>();
  for (const k of keepers) dbUrls.set(k.id, await pg.createDatabase(`keeper_${k.id}`));
  const patch: Record<ServiceName, (k: KeeperState) => Record<string, string>> = {
    'challenge-store': (k) => ({ CHALLENGE_STORE_DATABASE_URL: dbUrls.get(k.id)! }),
    'st-calculator': (k) => ({
      ST_CALCULATOR_DATABASE_URL: dbUrls.get(k.id)!,
      ST_CALCULATOR_CHALLENGE_EVERY: String(K),
      ...(SETTLE_WAIT_MS
        ? { ST_CALCULATOR_SETTLE_WAIT_MS: SETTLE_WAIT_MS, ST_CALCULATOR_PEER_SETTLE_WAIT_MS: SETTLE_WAIT_MS }
        : {}),
    }),
    'chain-submitter': () => ({ CHAIN_SUBMITTER_POLL_INTERVAL_MS: '500' }),
    challenger: () => ({
      CHALLENGER_PROVIDERS: `*=127.0.0.1:${providerNode.grpcPort}`,
      CHALLENGER_CHALLENGE_EVERY: String(K),
      CHALLENGER_DEADLINE_MS: '10000',
      CHALLENGER_ACK_WAIT_MS: '60000',
    }),
    'consensus-coordinator': () => ({
      ...(PEER_DEADLINE_MS ? { CONSENSUS_COORDINATOR_PEER_DEADLINE_MS: PEER_DEADLINE_MS } : {}),
      CONSENSUS_COORDINATOR_BATCH_MAX: String(BATCH_MAX),
    }),
  };
  const node = providerSpec(state, providerNode, join(work.path, 'provider'), LOG_LEVEL);
  delete node.env.PROVIDER_ADDRESS; // any pid: one node serves every provider
  supervisor.add({ ...node, name: 'provider' });
  const pki = await createGroupPki(join(work.path, 'pki'));
  for (const k of keepers) {
    const peerTls = await pki.env('CONSENSUS_COORDINATOR', k.id, k.account);
    for (const s of SERVICES) {
      const spec = keeperServiceSpec(state, k, s, endpoints, LOG_LEVEL, peerTls);
      const prof =
        PROF && (PROF_SERVICES.length === 0 || PROF_SERVICES.includes(s))
          ? [`--cpu-prof`, `--cpu-prof-dir=${join(PROF, procName(k, s))}`]
          : [];
      supervisor.add({ ...spec, args: [...prof, ...spec.args], env: { ...spec.env, ...patch[s](k) } });
    }
  }
  const httpOf: Record<ServiceName, (k: KeeperState) => number> = {
    'challenge-store': (k) => k.ports.storeHttp,
    'st-calculator': (k) => k.ports.stHttp,
    'chain-submitter': (k) => k.ports.submitterHttp,
    challenger: (k) => k.ports.challengerHttp,
    'consensus-coordinator': (k) => k.ports.coordinatorHttp,
  };
  const startAll = async (names: Array<{ name: string; port: number }>) => {
    for (const n of names) supervisor.start(n.name);
    await Promise.all(
      names.map((n) =>
        waitFor(`${n.name} ready`, () => httpOk(`http://127.0.0.1:${n.port}/readyz`), 180_000, 250),
      ),
    );
  };
  const tier = (ss: ServiceName[]) =>
    keepers.flatMap((k) => ss.map((s) => ({ name: procName(k, s), port: httpOf[s](k) })));
  await startAll([{ name: 'provider', port: providerNode.httpPort }]);
  await startAll(tier(['challenge-store']));
  await startAll(tier(['st-calculator', 'chain-submitter', 'challenger']));
  await startAll(tier(['consensus-coordinator']));
  say(`${KEEPERS} keepers × 5 services and the provider node ready`);

  // ---------------------------------------------------------------- providers: pieces + registry
  const user = privateKeyToAccount(userKey);
  const pidOf = (i: number): Address => numberToHex(0xb0_0000_0000n + BigInt(i), { size: 20 });
  const pids = Array.from({ length: PROVIDERS }, (_, i) => pidOf(i));
  const providerClient = new providerV1.ProviderServiceClient(
    `127.0.0.1:${providerNode.grpcPort}`,
    insecure(),
  );
  const storeClients = keepers.map(
    (k) => new storeV1.ChallengeStoreServiceClient(`127.0.0.1:${k.ports.storeGrpc}`, insecure()),
  );
  const tReg = performance.now();
  const regBlock = await reader.getBlockNumber();
  let registered = 0;
  await pool(pids, 16, async (pid, i) => {
    await storeAndRegisterPiece({
      provider: providerClient,
      stores: storeClients,
      user,
      pid,
      index: i,
      size: PIECE,
      nonce: BigInt(i + 1),
      block: regBlock,
      deadlineMs: 30_000,
    });
    if (++registered % 1000 === 0) say(`pieces stored and registered with every keeper: ${registered}`);
  });
  const regSecs = (performance.now() - tReg) / 1000;
  providerClient.close();
  for (const c of storeClients) c.close();

  // ---------------------------------------------------------------- providers on-chain
  const tAdd = performance.now();
  const wallet = createWalletClient({
    chain: devnetChain(anvil.rpcUrl, anvil.chainId),
    transport: http(anvil.rpcUrl),
    account: user,
  });
  // Signed here, sent raw 16 at a time: a wallet round trip per transaction would take minutes.
  const nonce0 = await reader.getTransactionCount({ address: user.address, blockTag: 'pending' });
  const gasPrice = (await reader.getGasPrice()) * 2n;
  const hashes: Hex[] = new Array(PROVIDERS);
  let sent = 0;
  await pool(pids, 16, async (pid, i) => {
    const raw = await user.signTransaction({
      chainId: anvil.chainId,
      type: 'legacy',
      to: upkeeping,
      data: encodeFunctionData({ abi: upkeepingAbi, functionName: 'addProvider', args: [pid] }),
      gas: 200_000n,
      gasPrice,
      nonce: nonce0 + i,
    });
    hashes[i] = await wallet.sendRawTransaction({ serializedTransaction: raw });
    if (++sent % 2000 === 0) say(`addProvider sent: ${sent}`);
  });
  const lastReceipt = await reader.waitForTransactionReceipt({ hash: hashes.at(-1)!, timeout: 600_000 });
  const addedAt = new Map<string, bigint>();
  for (const l of await reader.getContractEvents({
    address: upkeeping,
    abi: upkeepingAbi,
    eventName: 'ProviderAdded',
    fromBlock: 0n,
  }))
    addedAt.set(l.args.pid!.toLowerCase(), l.args.startBlock!);
  if (addedAt.size !== PROVIDERS) throw new Error(`${addedAt.size} providers added, want ${PROVIDERS}`);
  const lastAdd = lastReceipt.blockNumber;
  let firstAdd = lastAdd;
  for (const b of addedAt.values()) if (b < firstAdd) firstAdd = b;
  const addSecs = (performance.now() - tAdd) / 1000;
  say(`${PROVIDERS} providers added in blocks ${firstAdd}..${lastAdd} (${addSecs.toFixed(0)} s)`);

  // ---------------------------------------------------------------- the run
  // Until every provider has PERIODS payments on-chain (a payment lands some blocks after its te), or
  // one period past the last window (then the report says who is missing).
  const dueBlock = lastAdd + BigInt(PERIODS) * H + T;
  const deadline = dueBlock + H;
  const procs = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const st of supervisor.status()) if (st.pid) out[st.name] = st.pid;
    out.nats = findPid((c) => c.includes('nats-server') && c.includes(` -p ${nats.port} `));
    out.redis = findPid((c) => c.includes('redis-server') && c.includes(`:${redis.port}`));
    out.postgres = findPid((c) => /(^|\/)postgres /.test(c) && c.includes(` -p ${pg.port} `));
    out.anvil = findPid((c) => c.includes('anvil') && c.includes(`--port ${anvil.port}`));
    return out;
  };
  const pidsOfProcs = procs();
  const sampler = new Sampler(() => pidsOfProcs, 5_000);
  sampler.begin();
  const tRun = performance.now();
  const loads: number[] = [];
  let paidSoFar = 0;
  let scanned = firstAdd;
  const count = new Map<string, number>();
  let endBlock = firstAdd;
  while (true) {
    await new Promise((r) => setTimeout(r, 15_000));
    loads.push(loadavg()[0]!);
    const head = await reader.getBlockNumber();
    const logs = await eventsOf('PaymentMade', scanned, head);
    for (const l of logs)
      count.set(l.args.pid!.toLowerCase(), (count.get(l.args.pid!.toLowerCase()) ?? 0) + 1);
    paidSoFar += logs.length;
    scanned = head + 1n;
    endBlock = head;
    const done = pids.filter((p) => (count.get(p.toLowerCase()) ?? 0) >= PERIODS).length;
    let records = 0;
    for (const k of keepers)
      records += await metric(
        `http://127.0.0.1:${k.ports.challengerHttp}/metrics`,
        'whitepay_challenges_total',
      );
    say(
      `block ${head} (due ${dueBlock}, deadline ${deadline}): ${paidSoFar} payments, ${done}/${PROVIDERS} providers paid ${PERIODS}×, ${records} challenges, load ${loadavg()[0]!.toFixed(1)}, restarts ${supervisor
        .status()
        .reduce((a, st) => a + st.restarts, 0)}`,
    );
    if ((head >= dueBlock && done === PROVIDERS) || head >= deadline) break;
  }
  const runSecs = (performance.now() - tRun) / 1000;
  const usage = sampler.end();
  // Rounds the keepers led, by how they ended (a failed or rejected batch is retried or re-batched).
  const series = new Map<string, number>();
  const replies = new Map<string, number>();
  for (const k of keepers) {
    const url = `http://127.0.0.1:${k.ports.coordinatorHttp}/metrics`;
    await metricSeries(url, 'whitepay_rounds_total', series);
    await metricSeries(url, 'whitepay_round_replies_total', replies);
  }
  /** Summed over keepers, keyed by the labels named (`outcome/phase`). */
  const byLabels = (m: Map<string, number>, names: readonly string[]) => {
    const out = new Map<string, number>();
    for (const [labels, n] of m) {
      const of = Object.fromEntries([...labels.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      const key = names.map((l) => of[l] || '-').join('/');
      if (n > 0) out.set(key, (out.get(key) ?? 0) + n);
    }
    return (
      [...out]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    );
  };

  // ---------------------------------------------------------------- what landed
  // The service table first: it is measured already, and reading the chain below is the long part.
  process.stdout.write(`${serviceTable(usage).join('\n')}\n\n`);
  const made = await eventsOf('PaymentMade', firstAdd, endBlock);
  const skipped = await eventsOf('PaymentSkipped', firstAdd, endBlock);
  const batches = await eventsOf('BatchSettled', firstAdd, endBlock);
  const byPid = new Map<string, Array<{ ts: bigint; te: bigint; landed: bigint }>>();
  for (const e of made) {
    const list = byPid.get(e.args.pid!.toLowerCase()) ?? [];
    list.push({ ts: e.args.ts!, te: e.args.te!, landed: e.blockNumber! });
    byPid.set(e.args.pid!.toLowerCase(), list);
  }
  // Per provider: contiguous from addedAt; the p-th payment's lateness = te - (ts + H).
  let gaps = 0;
  let doubles = 0;
  const perPeriod = Array.from({ length: PERIODS }, () => ({
    paid: 0,
    late: [] as number[],
    landing: [] as number[],
  }));
  for (const pid of pids) {
    const list = (byPid.get(pid.toLowerCase()) ?? []).sort((a, b) => (a.ts < b.ts ? -1 : 1));
    let next = addedAt.get(pid.toLowerCase())!;
    for (const [p, pay] of list.entries()) {
      if (pay.ts < next) doubles++;
      else if (pay.ts > next) gaps++;
      next = pay.te;
      if (p < PERIODS) {
        perPeriod[p]!.paid++;
        perPeriod[p]!.late.push(Number(pay.te - pay.ts - H));
        perPeriod[p]!.landing.push(Number(pay.landed - pay.te));
      }
    }
  }
  // Gas per provider of the batches (receipts of every payBatch).
  const receipts = new Map<Hex, { gas: bigint; paid: number }>();
  for (const b of batches) {
    const r = receipts.get(b.transactionHash!) ?? { gas: 0n, paid: 0 };
    r.paid += Number(b.args.paid!);
    receipts.set(b.transactionHash!, r);
  }
  await pool([...receipts.keys()], 8, async (h) => {
    receipts.get(h)!.gas = (await reader.getTransactionReceipt({ hash: h })).gasUsed;
  });
  const entriesPerBatch = [...receipts.values()].map((r) => r.paid);
  const gasPerEntry = [...receipts.values()].map((r) => Number(r.gas) / Math.max(1, r.paid));
  const totalGas = [...receipts.values()].reduce((a, r) => a + r.gas, 0n);
  const totalPaid = [...receipts.values()].reduce((a, r) => a + r.paid, 0);

  // ---------------------------------------------------------------- report
  const lines = [
    `local network: ${KEEPERS} keepers × 5 services, ${PROVIDERS} providers on one multi-tenant node; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
    `H=${H} T=${T} blocks of ${BLOCK_TIME} s, challenge cadence K=${K}, batch max ${BATCH_MAX}; setup: pieces stored + registered with ${KEEPERS} keepers ${regSecs.toFixed(0)} s, ${PROVIDERS} addProvider ${addSecs.toFixed(0)} s (blocks ${firstAdd}..${lastAdd})`,
    `run: blocks ${lastAdd}..${endBlock} (last window closed at ${dueBlock}), ${runSecs.toFixed(0)} s, load average (1 min) p50 ${quantile(loads, 0.5).toFixed(1)} max ${Math.max(...loads).toFixed(1)}; process restarts ${supervisor.status().reduce((a, s) => a + s.restarts, 0)}`,
    '',
    '`te` late = blocks after `ts + H` at which the round started (0 = first block of the rank-1 window);',
    'landed = blocks from `te` to the block that included the payment.',
    '',
    '| period | providers settled | of | te late p50 | te late p99 | te late max | landed p50 | landed p99 | landed max |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...perPeriod.map(
      (p, i) =>
        `| ${i + 1} | ${p.paid} | ${PROVIDERS} | ${quantile(p.late, 0.5)} | ${quantile(p.late, 0.99)} | ${Math.max(...p.late)} | ${quantile(p.landing, 0.5)} | ${quantile(p.landing, 0.99)} | ${Math.max(...p.landing)} |`,
    ),
    '',
    `payments ${made.length}, skipped entries ${skipped.length}, gaps ${gaps}, paid twice ${doubles}; batches ${receipts.size} (entries p50 ${quantile(entriesPerBatch, 0.5)}, max ${Math.max(...entriesPerBatch)}), gas per provider mean ${(Number(totalGas) / Math.max(1, totalPaid)).toFixed(0)} (p50 ${quantile(gasPerEntry, 0.5).toFixed(0)})`,
    `rounds led, by outcome/phase (all keepers): ${byLabels(series, ['outcome', 'phase'])}`,
    `replies to leaders, by phase/outcome/code: ${byLabels(replies, ['phase', 'outcome', 'code'])}`,
    '',
    ...serviceTable(usage),
    '',
  ];
  process.stdout.write(lines.join('\n'));
  const ok = gaps === 0 && doubles === 0 && perPeriod.every((p) => p.paid === PROVIDERS);
  say(ok ? 'every provider settled every period, no gap' : 'NOT every provider settled every period');
  process.exitCode = ok ? 0 : 1;
} finally {
  await cleanup();
}
