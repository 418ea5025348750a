// Challenge ingest: records/s drained from JetStream into PostgreSQL by the
// real consumer (durable pull, batch, idempotent transaction, then ack),
// with the stream pre-filled and with a concurrent publisher; against the raw
// stages of the same run on the same stream (consume+ack alone, decode alone,
// COPY of the same rows alone on the same number of connections), with the
// CPU each process group spent per record; the insert method alone (unnest vs
// COPY); and range-query latency.
// Run: pnpm bench challenge-store
// env: BENCH_RECORDS (default 200000); BENCH_PARTS (comma list of
// insert,stages,concurrent,queries; default all); BENCH_BATCHES (default 1000,5000);
// BENCH_ENV (extra CHALLENGE_STORE_* settings for the service, `K=V,K=V` without the prefix);
// BENCH_MAC=1: records MACed with the data-plane key instead of signed (packages/bus)
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { createRegistry, silentLogger } from '@whitepay/base';
import { connectBus, ensureStreams, subjects } from '@whitepay/bus';
import {
  closePool,
  createPool,
  insertChallengeRecords,
  lastRecordBefore,
  migrate,
  queryChallengeRecords,
  type RecordRow,
} from '@whitepay/store';
import { startNats, startPostgres, waitFor } from '@whitepay/testkit';
import { AckPolicy, DeliverPolicy } from 'nats';
import { createApp } from '../src/app.js';
import { decodeRecord } from '../src/nats/decode.js';
import { addressOf, encodeRecord, makeRecord, signingPublisher, testConfig } from '../src/testing.js';

const N = Number(process.env.BENCH_RECORDS ?? 200_000);
const MAC = process.env.BENCH_MAC === '1' ? (`0x${'77'.repeat(32)}` as const) : undefined;
const PARTS = new Set((process.env.BENCH_PARTS ?? 'insert,stages,concurrent,queries').split(','));
const BATCHES = (process.env.BENCH_BATCHES ?? '1000,5000').split(',').map(Number);
const SERVICE_ENV = Object.fromEntries(
  (process.env.BENCH_ENV ?? '')
    .split(',')
    .filter(Boolean)
    .map((kv) => kv.split('=') as [string, string]),
);
const ACCOUNTS = 100;
const log = silentLogger();
const rows: Array<Record<string, string>> = [];
const stageRows: Array<Record<string, string>> = [];

/** CPU seconds (user + system, with reaped children) of this process's descendants, by command name. */
function childCpu(): Map<string, number> {
  const tick = 100; // USER_HZ on Linux
  const parent = new Map<number, number>();
  const stat = new Map<number, { comm: string; cpu: number }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const t = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = t.lastIndexOf(')');
      const comm = t.slice(t.indexOf('(') + 1, close);
      const f = t.slice(close + 2).split(' ');
      parent.set(Number(d), Number(f[1]));
      stat.set(Number(d), {
        comm,
        cpu: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / tick,
      });
    } catch {
      // gone meanwhile
    }
  }
  const out = new Map<string, number>();
  for (const [pid, s] of stat) {
    let p = parent.get(pid);
    while (p !== undefined && p > 1 && p !== process.pid) p = parent.get(p);
    if (p !== process.pid) continue;
    const group = s.comm.startsWith('postgres') || s.comm === 'postmaster' ? 'postgres' : s.comm;
    out.set(group, (out.get(group) ?? 0) + s.cpu);
  }
  return out;
}

/** Runs `fn`, returning its wall seconds and the CPU µs per record of node (this process), nats-server and postgres. */
async function measured(
  fn: () => Promise<void>,
): Promise<{ seconds: number; node: number; nats: number; pg: number }> {
  const c0 = childCpu();
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  const u = process.cpuUsage(u0);
  const c1 = childCpu();
  const d = (k: string) => ((c1.get(k) ?? 0) - (c0.get(k) ?? 0)) * 1e6;
  return { seconds, node: (u.user + u.system) / N, nats: d('nats-server') / N, pg: d('postgres') / N };
}

const pg = await startPostgres();
const nats = await startNats();
try {
  const sample = encodeRecord(makeRecord(1, 1n));
  console.log(
    `machine: nproc=${cpus().length}, ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB; record ${sample.length} bytes; load at start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  const recordAt = (i: number) => makeRecord(i % ACCOUNTS, BigInt(Math.floor(i / ACCOUNTS)));

  async function scenario(name: string, ns: string, concurrent: boolean, batchMax: number): Promise<void> {
    const mac = MAC ? { NATS_MAC_KEY: MAC } : {};
    const base = testConfig({ NATS_NAMESPACE: ns, BATCH_MAX: String(batchMax), ...mac, ...SERVICE_ENV });
    // As the README says: MAX_ACK_PENDING above (WRITERS + PIPELINE_DEPTH + 1) × BATCH_MAX (twice, here).
    const held = (base.writers + base.pipelineDepth + 1) * batchMax;
    const config =
      base.maxAckPending >= 2 * held
        ? base
        : testConfig({
            NATS_NAMESPACE: ns,
            BATCH_MAX: String(batchMax),
            ...mac,
            ...SERVICE_ENV,
            MAX_ACK_PENDING: String(2 * held),
          });
    const url = await pg.createDatabase(ns.toLowerCase());
    const pool = createPool({ url, log, max: config.dbPoolSize });
    await migrate(pool);
    const nc = await connectBus({ url: nats.url, name: ns, log });
    const s = subjects(ns);
    await ensureStreams(await nc.jetstreamManager(), s);
    const pub = signingPublisher(nc.jetstream(), 512, undefined, { macKey: MAC });
    const publish = async () => {
      for (let i = 0; i < N; i++)
        await pub.publish(s.recordsFor('u', 'p'), encodeRecord(recordAt(i)), `m${i}`);
      await pub.flush();
    };
    let pubSeconds = 0;
    if (!concurrent) {
      const t = performance.now();
      await publish();
      pubSeconds = (performance.now() - t) / 1000;
    }
    const stages = concurrent ? [] : await rawStages(ns, config, batchMax);
    const app = await createApp({ config, log, registry: createRegistry('bench'), pool, nc });
    const m = await measured(async () => {
      const t0 = performance.now();
      await app.start();
      if (concurrent) {
        await publish();
        pubSeconds = (performance.now() - t0) / 1000;
      }
      await waitFor(
        'drained',
        async () => {
          const l = await app.ingestor.lag();
          return l.pending === 0 && l.ackPending === 0;
        },
        600_000,
        20,
      );
    });
    const count = (await pool.query('SELECT count(*)::int AS c FROM challenge_records')).rows[0].c as number;
    if (count !== N) throw new Error(`expected ${N} rows, found ${count}`);
    const hist = await app.metrics.batchSize.get();
    const sum = hist.values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
    const cnt = hist.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 1;
    const rate = N / m.seconds;
    rows.push({
      scenario: name,
      records: String(N),
      'batch max': String(batchMax),
      'mean batch': (sum / cnt).toFixed(0),
      'publish s': pubSeconds.toFixed(1),
      'drain s': m.seconds.toFixed(1),
      'records/s': Math.round(rate).toLocaleString('en-US'),
    });
    if (stages.length > 0) {
      const slowest = stages.reduce((a, b) => (b.rate < a.rate ? b : a));
      const cpu = (x: { node: number; nats: number; pg: number }) => x.node + x.nats + x.pg;
      for (const x of stages) stageRows.push(stageRow(batchMax, x.stage, x.rate, x.m, ''));
      // The CPU ratio (slowest stage's CPU per record over the ingest's) is what the wall ratio
      // tends to when every process competes for the same cores; it moves less with other load.
      stageRows.push(
        stageRow(
          batchMax,
          'ingest (the service)',
          rate,
          m,
          `${(rate / slowest.rate).toFixed(2)} of the slowest (CPU ${(cpu(slowest.m) / cpu(m)).toFixed(2)})`,
        ),
      );
    }
    await app.stop();
    await nc.close();
    if (PARTS.has('queries') && name.startsWith('pre-published') && batchMax === 1000) await queries(pool);
    await closePool(pool);
  }

  function stageRow(
    batchMax: number,
    stage: string,
    rate: number,
    m: { node: number; nats: number; pg: number },
    ratio: string,
  ): Record<string, string> {
    return {
      batch: String(batchMax),
      stage,
      'records/s': Math.round(rate).toLocaleString('en-US'),
      ratio,
      'node µs/rec': m.node.toFixed(1),
      'nats µs/rec': m.nats.toFixed(1),
      'pg µs/rec': m.pg.toFixed(1),
      'all µs/rec': (m.node + m.nats + m.pg).toFixed(1),
    };
  }

  /**
   * The raw stages on the stream the service then drains: consume+ack alone
   * (another durable consumer, same settings, nothing written), decode alone,
   * and COPY of the same rows alone (batches of `batchMax`, `writers`
   * transactions at once, a fresh database).
   */
  async function rawStages(
    ns: string,
    config: ReturnType<typeof testConfig>,
    batchMax: number,
  ): Promise<Array<{ stage: string; rate: number; m: Awaited<ReturnType<typeof measured>> }>> {
    const out: Array<{ stage: string; rate: number; m: Awaited<ReturnType<typeof measured>> }> = [];
    const s = subjects(ns);
    const nc = await connectBus({ url: nats.url, name: `${ns}-raw`, log });
    const jsm = await nc.jetstreamManager();
    await jsm.consumers.add(s.streams.records, {
      durable_name: 'raw',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: s.records,
      max_ack_pending: config.maxAckPending,
      ack_wait: config.ackWaitMs * 1_000_000,
    });
    const data: Uint8Array[] = [];
    const consume = await measured(async () => {
      const c = await nc.jetstream().consumers.get(s.streams.records, 'raw');
      const msgs = await c.consume({ max_messages: Math.min(config.maxAckPending, batchMax * 2) });
      for await (const m of msgs) {
        data.push(m.data);
        m.ack();
        if (data.length === N) break;
      }
      await waitFor(
        'raw acks',
        async () => (await jsm.consumers.info(s.streams.records, 'raw')).num_ack_pending === 0,
        600_000,
        20,
      );
    });
    out.push({ stage: 'consume + ack', rate: N / consume.seconds, m: consume });
    let decoded: RecordRow[] = [];
    const decode = await measured(async () => {
      decoded = data.map((d) => decodeRecord(d, 1));
    });
    out.push({ stage: 'decode', rate: N / decode.seconds, m: decode });
    const db = await pg.createDatabase(`${ns.toLowerCase()}raw`);
    const pool = createPool({ url: db, log, max: config.writers });
    await migrate(pool);
    const copy = await measured(async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: config.writers }, async () => {
          for (;;) {
            const i = next;
            next += batchMax;
            if (i >= N) return;
            await insertChallengeRecords(pool, decoded.slice(i, i + batchMax));
          }
        }),
      );
    });
    out.push({ stage: `COPY, ${config.writers} connections`, rate: N / copy.seconds, m: copy });
    await closePool(pool);
    await nc.close();
    return out;
  }

  const qrows: Array<Record<string, string>> = [];
  async function queries(pool: Awaited<ReturnType<typeof createPool>>): Promise<void> {
    const perAccount = N / ACCOUNTS;
    const lat = async (label: string, fn: (i: number) => Promise<unknown>) => {
      const ts: number[] = [];
      for (let i = 0; i < 300; i++) {
        const t = performance.now();
        await fn(i);
        ts.push(performance.now() - t);
      }
      ts.sort((a, b) => a - b);
      qrows.push({
        query: label,
        p50_ms: ts[Math.floor(ts.length * 0.5)]!.toFixed(2),
        p99_ms: ts[Math.floor(ts.length * 0.99)]!.toFixed(2),
      });
    };
    const acct = (i: number) => ({
      user: addressOf(i % ACCOUNTS),
      pid: addressOf((i % ACCOUNTS) + 1_000_000),
    });
    await lat('range, 1000 records, with proofs', (i) => {
      const from = BigInt((i * 37) % Math.max(1, perAccount - 1000));
      return queryChallengeRecords(pool, { ...acct(i), from, to: from + 1000n, limit: 1000 });
    });
    await lat('range, 1000 records, no proofs', (i) => {
      const from = BigInt((i * 37) % Math.max(1, perAccount - 1000));
      return queryChallengeRecords(pool, {
        ...acct(i),
        from,
        to: from + 1000n,
        limit: 1000,
        withProofs: false,
      });
    });
    await lat('range, 100 records', (i) => {
      const from = BigInt((i * 37) % Math.max(1, perAccount - 100));
      return queryChallengeRecords(pool, { ...acct(i), from, to: from + 100n, limit: 1000 });
    });
    await lat('lastRecordBefore', (i) =>
      lastRecordBefore(pool, { ...acct(i), keeperId: 1, block: BigInt((i * 13) % perAccount) + 1n }),
    );
  }

  async function insertMethods(): Promise<Array<Record<string, string>>> {
    const out: Array<Record<string, string>> = [];
    for (const method of ['unnest', 'copy'] as const) {
      for (const batch of [100, 1000, 5000]) {
        const url = await pg.createDatabase(`ins_${method}_${batch}`);
        const pool = createPool({ url, log, max: 2 });
        await migrate(pool);
        const total = 100_000;
        const all: RecordRow[] = [];
        for (let i = 0; i < total; i++)
          all.push(decodeRecord(encodeRecord(makeRecord(i % ACCOUNTS, BigInt(Math.floor(i / ACCOUNTS))))));
        const t = performance.now();
        for (let i = 0; i < total; i += batch)
          await insertChallengeRecords(pool, all.slice(i, i + batch), { method });
        const secs = (performance.now() - t) / 1000;
        const t2 = performance.now();
        for (let i = 0; i < total; i += batch)
          await insertChallengeRecords(pool, all.slice(i, i + batch), { method });
        const dupSecs = (performance.now() - t2) / 1000;
        out.push({
          method,
          batch: String(batch),
          'new rows/s': Math.round(total / secs).toLocaleString('en-US'),
          'duplicate rows/s': Math.round(total / dupSecs).toLocaleString('en-US'),
        });
        await closePool(pool);
      }
    }
    return out;
  }

  const ins = PARTS.has('insert') ? await insertMethods() : [];
  if (PARTS.has('stages'))
    for (const [i, b] of BATCHES.entries())
      await scenario('pre-published, then drained', `B${i + 1}`, false, b);
  if (PARTS.has('concurrent')) await scenario('concurrent publisher', 'BC', true, 1000);

  if (ins.length > 0) {
    console.log('\ninsert method (store only, 100,000 rows, one transaction per batch)');
    console.table(ins);
  }
  console.log('\ningest (JetStream → PostgreSQL, the service consumer)');
  console.table(rows);
  if (stageRows.length > 0) {
    console.log(
      '\ningest against the raw stages of the same run (same stream, same batch, same connections)',
    );
    console.table(stageRows);
  }
  if (qrows.length > 0) {
    console.log(`\nrange queries (${N.toLocaleString('en-US')} records, ${ACCOUNTS} accounts)`);
    console.table(qrows);
  }
  console.log(
    `load at end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await nats.stop();
  await pg.stop();
}
