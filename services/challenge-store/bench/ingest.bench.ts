// Challenge ingest: records/s drained from JetStream into PostgreSQL by the
// real consumer (durable pull, batch, idempotent transaction, then ack),
// with the stream pre-filled and with a concurrent publisher; the insert
// method alone (unnest vs COPY); and range-query latency.
// Run: pnpm bench challenge-store   (env: BENCH_RECORDS, default 200000; BENCH_MAC=1: records MACed
// with the data-plane key instead of signed, packages/bus)
import { cpus, totalmem } from 'node:os';
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
import { createApp } from '../src/app.js';
import { decodeRecord } from '../src/nats/decode.js';
import { addressOf, encodeRecord, makeRecord, signingPublisher, testConfig } from '../src/testing.js';

const N = Number(process.env.BENCH_RECORDS ?? 200_000);
const MAC = process.env.BENCH_MAC === '1' ? (`0x${'77'.repeat(32)}` as const) : undefined;
const ACCOUNTS = 100;
const log = silentLogger();
const rows: Array<Record<string, string>> = [];

const pg = await startPostgres();
const nats = await startNats();
try {
  const sample = encodeRecord(makeRecord(1, 1n));
  console.log(
    `machine: nproc=${cpus().length}, ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB; record ${sample.length} bytes`,
  );

  async function scenario(name: string, ns: string, concurrent: boolean, batchMax: number): Promise<void> {
    const url = await pg.createDatabase(ns.toLowerCase());
    const pool = createPool({ url, log, max: 4 });
    await migrate(pool);
    const nc = await connectBus({ url: nats.url, name: ns, log });
    const s = subjects(ns);
    await ensureStreams(await nc.jetstreamManager(), s);
    const pub = signingPublisher(nc.jetstream(), 512, undefined, { macKey: MAC });
    const publish = async () => {
      for (let i = 0; i < N; i++) {
        const rec = makeRecord(i % ACCOUNTS, BigInt(Math.floor(i / ACCOUNTS)));
        await pub.publish(s.recordsFor('u', 'p'), encodeRecord(rec), `m${i}`);
      }
      await pub.flush();
    };
    let pubSeconds = 0;
    if (!concurrent) {
      const t = performance.now();
      await publish();
      pubSeconds = (performance.now() - t) / 1000;
    }
    const app = await createApp({
      config: testConfig({
        NATS_NAMESPACE: ns,
        BATCH_MAX: String(batchMax),
        ...(MAC ? { NATS_MAC_KEY: MAC } : {}),
      }),
      log,
      registry: createRegistry('bench'),
      pool,
      nc,
    });
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
    const seconds = (performance.now() - t0) / 1000;
    const count = (await pool.query('SELECT count(*)::int AS c FROM challenge_records')).rows[0].c as number;
    if (count !== N) throw new Error(`expected ${N} rows, found ${count}`);
    const hist = await app.metrics.batchSize.get();
    const sum = hist.values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
    const cnt = hist.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 1;
    rows.push({
      scenario: name,
      records: String(N),
      'batch max': String(batchMax),
      'mean batch': (sum / cnt).toFixed(0),
      'publish s': pubSeconds.toFixed(1),
      'drain s': seconds.toFixed(1),
      'records/s': Math.round(N / seconds).toLocaleString('en-US'),
    });
    await app.stop();
    await nc.close();
    if (name.startsWith('pre-published') && batchMax === 1000) await queries(pool);
    await closePool(pool);
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

  const ins = await insertMethods();
  await scenario('pre-published, then drained', 'B1', false, 1000);
  await scenario('pre-published, then drained', 'B2', false, 5000);
  await scenario('concurrent publisher', 'B3', true, 1000);

  console.log('\ninsert method (store only, 100,000 rows, one transaction per batch)');
  console.table(ins);
  console.log('\ningest (JetStream → PostgreSQL, the service consumer)');
  console.table(rows);
  console.log(`\nrange queries (${N.toLocaleString('en-US')} records, ${ACCOUNTS} accounts)`);
  console.table(qrows);
} finally {
  await nats.stop();
  await pg.stop();
}
