// Challenges at network scale (issue "Scale"): one keeper — real NATS and PostgreSQL, the
// challenge-store, 1 or 2 challenger replicas and one multi-tenant provider node, each service
// its own process — with 1,000 and 10,000 providers (one 16 KiB piece each, registered with
// user-signed requests). Per run: B blocks are published at once; we measure the tasks fanned
// out per block and the fan-out time (the challenger's histogram), challenges/s end to end
// (first block published → last record in PostgreSQL), and CPU% / RSS of every process from
// /proc. `pnpm bench challenges`; knobs: PROVIDERS=1000,10000 RUNS=… (see `plan` below).
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@whitepay/base';
import { busSigner, connectBus, subjects } from '@whitepay/bus';
import { providerV1, storeV1 } from '@whitepay/proto';
import { insecure } from '@whitepay/rpc';
import { closePool, createPool } from '@whitepay/store';
import {
  freePort,
  type Managed,
  spawnManaged,
  startAnvil,
  startNats,
  startPostgres,
  tempDir,
  waitFor,
} from '@whitepay/testkit';
import { createPublicClient, type Hex, http, keccak256, numberToHex, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { httpOk } from '../devnet/devnet.js';
import { findPid, Sampler } from './proc.js';
import { metric, pool, storeAndRegisterPiece } from './util.js';

const ROOT = join(import.meta.dirname, '../..');
const SIZES = (process.env.PROVIDERS ?? '1000,10000').split(',').map(Number);
const PIECE = 16 * 1024;
const USERS = 10;
const KEEPER_KEY = keccak256(toHex('bench keeper 1'));
const log = silentLogger();

interface Run {
  providers: number;
  k: number;
  replicas: number;
  blocks: number;
  /** CHALLENGER_TASK_PIECES_MAX: 0 = each task reads its own pieces (the path before "Scale"). */
  taskPieces: number;
  label: string;
}

/** The runs for one provider count. RUNS=before|after|all picks the variants. */
function plan(n: number): Run[] {
  const which = process.env.RUNS ?? 'all';
  const runs: Run[] = [];
  const blocksK1 = n >= 10_000 ? 1 : 5;
  for (const [taskPieces, label] of [
    [0, 'before'],
    [64, 'after'],
  ] as const) {
    if (which !== 'all' && which !== label) continue;
    for (const replicas of (process.env.REPLICAS ?? '1,2').split(',').map(Number))
      runs.push({ providers: n, k: 1, replicas, blocks: blocksK1, taskPieces, label });
    if (n >= 10_000) runs.push({ providers: n, k: 10, replicas: 2, blocks: 10, taskPieces, label });
  }
  return runs;
}

// ---------------------------------------------------------------- services as processes

/** BENCH_PROF=<dir>: V8 CPU profiles of the services (written at exit) into <dir>. */
const PROF = process.env.BENCH_PROF;

function service(name: string, env: Record<string, string>): Managed {
  const m = spawnManaged(
    process.execPath,
    [
      ...(PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF}/${name}`] : []),
      '--conditions=development',
      '--import',
      'tsx',
      `services/${name}/src/main.ts`,
    ],
    { cwd: ROOT, env: { ...process.env, ...env } },
  );
  m.child.once('exit', (code) => {
    if (code && code !== 0 && !stopping) process.stderr.write(`${name} exited ${code}:\n${m.output()}\n`);
  });
  return m;
}
let stopping = false;

// ---------------------------------------------------------------- main

const pg = await startPostgres();
const nats = await startNats();
// The challengers check every block header against their node (issue 20): real blocks, signed
// with the keeper's bus key (its account key) as the chain-submitter would.
const anvil = await startAnvil();
const chain = createPublicClient({ transport: http(anvil.rpcUrl) });
const bus = busSigner(KEEPER_KEY);
const dbUrl = await pg.createDatabase('bench');
const dataDir = await tempDir('bench-provider');
const ports = {
  storeGrpc: await freePort(),
  storeHttp: await freePort(),
  providerGrpc: await freePort(),
  providerHttp: await freePort(),
};
const store = service('challenge-store', {
  CHALLENGE_STORE_KEEPER_ID: '1',
  CHALLENGE_STORE_DATABASE_URL: dbUrl,
  CHALLENGE_STORE_NATS_URL: nats.url,
  CHALLENGE_STORE_NATS_SIGNER: bus.address,
  CHALLENGE_STORE_GRPC_HOST: '127.0.0.1',
  CHALLENGE_STORE_GRPC_PORT: String(ports.storeGrpc),
  CHALLENGE_STORE_HTTP_HOST: '127.0.0.1',
  CHALLENGE_STORE_HTTP_PORT: String(ports.storeHttp),
  CHALLENGE_STORE_LOG_LEVEL: 'warn',
});
const provider = service('provider', {
  PROVIDER_DATA_DIR: dataDir.path,
  PROVIDER_GRPC_HOST: '127.0.0.1',
  PROVIDER_GRPC_PORT: String(ports.providerGrpc),
  PROVIDER_HTTP_HOST: '127.0.0.1',
  PROVIDER_HTTP_PORT: String(ports.providerHttp),
  PROVIDER_LOG_LEVEL: 'warn',
});
let challengers: Array<{ m: Managed; http: number }> = [];

const cleanup = async () => {
  stopping = true;
  for (const c of challengers) await c.m.stop();
  await provider.stop();
  await store.stop();
  await nats.stop();
  await anvil.stop();
  await pg.stop();
  await dataDir.remove();
};

try {
  await waitFor('challenge-store ready', () => httpOk(`http://127.0.0.1:${ports.storeHttp}/readyz`), 60_000);
  await waitFor('provider ready', () => httpOk(`http://127.0.0.1:${ports.providerHttp}/readyz`), 60_000);
  const storeClient = new storeV1.ChallengeStoreServiceClient(`127.0.0.1:${ports.storeGrpc}`, insecure());
  const providerClient = new providerV1.ProviderServiceClient(`127.0.0.1:${ports.providerGrpc}`, insecure());
  const db = createPool({ url: dbUrl, log, max: 2 });
  const nc = await connectBus({ url: nats.url, name: 'bench', log });
  const s = subjects('k1');
  const users = Array.from({ length: USERS }, (_, i) =>
    privateKeyToAccount(keccak256(toHex(`bench user ${i}`))),
  );
  const pidOf = (i: number): Hex => numberToHex(0xb0_0000_0000n + BigInt(i), { size: 20 });
  const natsPid = findPid((c) => c.includes('nats-server') && c.includes(` -p ${nats.port} `));
  const pgPid = findPid((c) => /(^|\/)postgres /.test(c) && c.includes(` -p ${pg.port} `));
  const procs = () => ({
    ...Object.fromEntries(challengers.map((c, i) => [`challenger ${i + 1}`, c.m.child.pid!])),
    'challenge-store': store.child.pid!,
    provider: provider.child.pid!,
    nats: natsPid,
    postgres: pgPid,
  });

  let registered = 0;
  let blockNo = 1;
  const rows: string[] = [];
  const setupRows: string[] = [];

  for (const n of SIZES) {
    // --- providers n: one 16 KiB piece each, stored in the node and registered by its user
    const t0 = performance.now();
    const todo = Array.from({ length: n - registered }, (_, j) => registered + j);
    await pool(todo, 16, (i) =>
      storeAndRegisterPiece({
        provider: providerClient,
        stores: [storeClient],
        user: users[i % USERS]!,
        pid: pidOf(i),
        index: i,
        size: PIECE,
        nonce: BigInt(i),
        block: 1n,
      }),
    );
    registered = n;
    setupRows.push(`| ${n} | ${((performance.now() - t0) / 1000).toFixed(1)} |`);

    for (const run of plan(n)) {
      // --- challengers for this run
      challengers = [];
      for (let r = 0; r < run.replicas; r++) {
        const http = await freePort();
        challengers.push({
          http,
          m: service('challenger', {
            CHALLENGER_KEEPER_ID: '1',
            CHALLENGER_NATS_URL: nats.url,
            CHALLENGER_STORE_GRPC_URL: `127.0.0.1:${ports.storeGrpc}`,
            CHALLENGER_PROVIDERS: `*=127.0.0.1:${ports.providerGrpc}`,
            CHALLENGER_CHALLENGE_EVERY: String(run.k),
            CHALLENGER_TASK_PIECES_MAX: String(run.taskPieces),
            CHALLENGER_KEEPER_PRIVATE_KEY: KEEPER_KEY,
            CHALLENGER_RPC_URL: anvil.rpcUrl,
            CHALLENGER_DEADLINE_MS: '10000',
            CHALLENGER_ACK_WAIT_MS: '60000',
            CHALLENGER_HTTP_HOST: '127.0.0.1',
            CHALLENGER_HTTP_PORT: String(http),
            CHALLENGER_LOG_LEVEL: 'warn',
          }),
        });
      }
      for (const c of challengers)
        await waitFor('challenger ready', () => httpOk(`http://127.0.0.1:${c.http}/readyz`), 60_000);
      // a warm-up block (JIT, gRPC channels, connections) — not measured
      const warm = blockNo++;
      await publishBlock(warm);
      await waitRecords(warm, warm, expectedTasks(run, warm, warm), 600_000);

      const first = blockNo;
      const last = blockNo + run.blocks - 1;
      blockNo = last + 1;
      const expected = expectedTasks(run, first, last);
      const fan0 = await fanout();
      const sampler = new Sampler(procs);
      sampler.begin();
      const tStart = performance.now();
      for (let b = first; b <= last; b++) await publishBlock(b);
      const stored = await waitRecords(first, last, expected, 1_200_000);
      const secs = (performance.now() - tStart) / 1000;
      const usage = sampler.end();
      const fan1 = await fanout();
      const fanMs = (1000 * (fan1.sum - fan0.sum)) / Math.max(1, fan1.count - fan0.count);
      const tasksPerBlock = (fan1.tasks - fan0.tasks) / Math.max(1, fan1.count - fan0.count);
      const ch = Object.entries(usage).filter(([k]) => k.startsWith('challenger '));
      const chCpu = ch.map(([, v]) => v.cpu.toFixed(0)).join(' + ');
      const chRss = ch.map(([, v]) => v.rssMiB.toFixed(0)).join(' + ');
      const u = (k: string) => `${usage[k]!.cpu.toFixed(0)}% / ${usage[k]!.rssMiB.toFixed(0)}`;
      // CPU time per challenge (ms): less sensitive than rates to other load on the machine
      const msPer = (cpu: number) => ((cpu / 100) * secs * 1000) / expected;
      const chMs = msPer(ch.reduce((a, [, v]) => a + v.cpu, 0));
      const allMs = msPer(Object.values(usage).reduce((a, v) => a + v.cpu, 0));
      rows.push(
        `| ${run.label} | ${n} | ${run.k} | ${run.replicas} | ${run.blocks} | ${tasksPerBlock.toFixed(0)} | ${fanMs.toFixed(0)} | ${stored.ok}/${expected} | ${secs.toFixed(1)} | **${(expected / secs).toFixed(0)}** | ${chMs.toFixed(2)} | ${allMs.toFixed(2)} | ${chCpu}% / ${chRss} | ${u('challenge-store')} | ${u('provider')} | ${u('nats')} | ${u('postgres')} |`,
      );
      process.stderr.write(`${rows[rows.length - 1]}\n`);
      for (const c of challengers) await c.m.stop();
      challengers = [];
    }
  }

  async function publishBlock(b: number) {
    const head = Number(await chain.getBlockNumber());
    if (head < b) await chain.request({ method: 'anvil_mine' as never, params: [toHex(b - head)] as never });
    const block = await chain.getBlock({ blockNumber: BigInt(b) });
    const msg = {
      number: b,
      hash: block.hash,
      parentHash: block.parentHash,
      timestamp: Number(block.timestamp),
    };
    const data = new TextEncoder().encode(JSON.stringify(msg));
    await nc.jetstream().publish(s.blocks, data, {
      msgID: `block:${b}:${block.hash}`,
      headers: bus.headers(s.blocks, data),
    });
  }

  function expectedTasks(run: Run, from: number, to: number): number {
    if (run.k === 1) return run.providers * (to - from + 1);
    let total = 0;
    for (let i = 0; i < run.providers; i++) {
      const phase =
        BigInt(keccak256(`${users[i % USERS]!.address}${pidOf(i).slice(2)}` as Hex)) % BigInt(run.k);
      for (let b = from; b <= to; b++) if ((phase + BigInt(b)) % BigInt(run.k) === 0n) total++;
    }
    return total;
  }

  async function waitRecords(from: number, to: number, expected: number, timeoutMs: number) {
    let got = { all: 0, ok: 0 };
    await waitFor(
      `${expected} records of blocks ${from}..${to}`,
      async () => {
        const r = await db.query<{ all: string; ok: string }>(
          `SELECT count(*) AS all, count(*) FILTER (WHERE verdict = 1) AS ok
             FROM challenge_records WHERE keeper_id = 1 AND block BETWEEN $1 AND $2`,
          [from, to],
        );
        got = { all: Number(r.rows[0]!.all), ok: Number(r.rows[0]!.ok) };
        return got.all >= expected;
      },
      timeoutMs,
      50,
    );
    return got;
  }

  async function fanout() {
    let sum = 0;
    let count = 0;
    let tasks = 0;
    for (const c of challengers) {
      sum += await metric(`http://127.0.0.1:${c.http}/metrics`, 'whitepay_challenger_fanout_seconds_sum');
      count += await metric(`http://127.0.0.1:${c.http}/metrics`, 'whitepay_challenger_fanout_seconds_count');
      tasks += await metric(
        `http://127.0.0.1:${c.http}/metrics`,
        'whitepay_challenger_tasks_published_total',
      );
    }
    return { sum, count, tasks };
  }

  storeClient.close();
  providerClient.close();
  await nc.close();
  await closePool(db);

  process.stdout.write(
    [
      `challenges end to end, one keeper; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
      '',
      '| providers | setup (store + register), s |',
      '| ---: | ---: |',
      ...setupRows,
      '',
      'CPU in % of one core over the measured run, RSS = peak MiB (PostgreSQL: postmaster and backends).',
      '',
      '| variant | providers | K | replicas | blocks | tasks/block | fan-out, ms | OK records | s | challenges/s | challenger CPU ms/challenge | all CPU ms/challenge | challenger CPU / RSS | store | provider | nats | postgres |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- | --- |',
      ...rows,
      '',
    ].join('\n'),
  );
} finally {
  await cleanup();
}
process.exit(0);
