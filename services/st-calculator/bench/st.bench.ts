// st query latency with one year of records: p50/p99 of ComputeSt through the
// calculator (account check + the integral), both engines, for the typical
// payment interval (1 day), a month and the whole year, and the union with 3
// peer keepers (full sync). Rows are generated inside PostgreSQL
// (INSERT … SELECT generate_series, block-major like the real ingest: every
// provider challenged in turn, so one account's rows are spread over the heap).
// Run: pnpm bench st-calculator  (env: BENCH_PROVIDERS=100, BENCH_EVERY=100 blocks between records,
// BENCH_QUERIES=200 for 1 day; /2 for 30 days, /8 for a year)
import { cpus, totalmem } from 'node:os';
import { createRegistry, silentLogger } from '@whitepay/base';
import { closePool, createPool, ensurePartitions, migrate, type Pool } from '@whitepay/store';
import { startPostgres } from '@whitepay/testkit';
import { type Calculator, createCalculator } from '../src/calculator.js';
import { createMetrics } from '../src/metrics.js';

const PROVIDERS = Number(process.env.BENCH_PROVIDERS ?? 100);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 200);
/** 1 year at 12 s per block. */
const YEAR = 2_628_000;
/** A challenge every ~EVERY blocks (jittered per provider); BENCH_EVERY, default 100. */
const EVERY = Number(process.env.BENCH_EVERY ?? 100);
const PEER_KEEPERS = 3;
/** Providers whose records the peers also hold (for the union rows). */
const UNION_PROVIDERS = Math.min(10, PROVIDERS);
/** Records count for 10 × EVERY blocks (at least 1,000), so a jittered gap never drops space. */
const MAX_STALENESS = BigInt(Math.max(1000, 10 * EVERY));
const log = silentLogger();

const addr = (tag: number, i: number): Buffer => {
  const b = Buffer.alloc(20);
  b[0] = tag;
  b.writeUInt32BE(i, 16);
  return b;
};
const USER = addr(0xaa, 0);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

async function generate(pool: Pool): Promise<void> {
  const marks: bigint[] = [];
  for (let b = 0; b <= YEAR; b += 500_000) marks.push(BigInt(b));
  marks.push(BigInt(YEAR));
  await ensurePartitions(pool, 'challenge_records', marks);
  await ensurePartitions(pool, 'peer_records', marks);
  // pid i = 0xbb…i; provider i is challenged at blocks ≡ i (mod 100); ~3 % of challenges fail (s = 0).
  await pool.query(
    `INSERT INTO pieces (user_addr, pid, piece_id, size, root, leaf_size, added_block)
     SELECT $1, decode('bb' || repeat('00', 15) || lpad(to_hex(p), 8, '0'), 'hex'),
            decode(repeat('cc', 28) || lpad(to_hex(p), 8, '0'), 'hex'), 1073741824::int8, decode(repeat('dd', 32), 'hex'), 4096, 0
       FROM generate_series(0, $2::int - 1) p`,
    [USER, PROVIDERS],
  );
  const t = performance.now();
  await pool.query(
    `INSERT INTO challenge_records (user_addr, pid, keeper_id, block, block_hash, space, verdict, proof, observed_at)
     SELECT $1, decode('bb' || repeat('00', 15) || lpad(to_hex(p), 8, '0'), 'hex'), 1, b + p % ${EVERY},
            decode(repeat('ee', 32), 'hex'),
            CASE WHEN hashint4(b + p) % 33 = 0 THEN 0 ELSE 1073741824::int8 * (1 + p % 8) END,
            CASE WHEN hashint4(b + p) % 33 = 0 THEN 4 ELSE 1 END, NULL, now()
       FROM generate_series(0, ${YEAR - EVERY}, ${EVERY}) b, generate_series(0, $2::int - 1) p
      ORDER BY b, p`,
    [USER, PROVIDERS],
  );
  await pool.query(
    `INSERT INTO peer_records (user_addr, pid, keeper_id, block, block_hash, space, verdict, proof, observed_at, signature)
     SELECT $1, decode('bb' || repeat('00', 15) || lpad(to_hex(p), 8, '0'), 'hex'), k, b + (p + 7 * k) % ${EVERY},
            decode(repeat('ee', 32), 'hex'), 1073741824::int8 * (1 + p % 8), 1, NULL, now(), '\\x01'
       FROM generate_series(0, ${YEAR - EVERY}, ${EVERY}) b, generate_series(0, $2::int - 1) p,
            generate_series(2, ${1 + PEER_KEEPERS}) k
      ORDER BY b, p, k`,
    [USER, UNION_PROVIDERS],
  );
  await pool.query('ANALYZE challenge_records; ANALYZE peer_records');
  const rows = await pool.query<{ own: string; peer: string; size: string }>(
    `SELECT (SELECT count(*) FROM challenge_records)::text AS own, (SELECT count(*) FROM peer_records)::text AS peer,
            pg_size_pretty(pg_database_size(current_database())) AS size`,
  );
  const r = rows.rows[0]!;
  console.log(
    `generated ${r.own} own + ${r.peer} peer rows in ${((performance.now() - t) / 1000).toFixed(1)} s; database ${r.size}`,
  );
}

async function measure(
  calc: Calculator,
  span: number,
  includePeers: boolean,
  queries: number,
): Promise<{ p50: number; p99: number; records: number }> {
  const times: number[] = [];
  let records = 0;
  const providers = includePeers ? UNION_PROVIDERS : PROVIDERS;
  for (let i = 0; i < queries + 10; i++) {
    const p = (i * 7919) % providers;
    const ts = BigInt(span >= YEAR ? 0 : (i * 104_729) % (YEAR - span));
    const te = ts + BigInt(span);
    const t = performance.now();
    const res = await calc.computeSt({ user: USER, pid: addr(0xbb, p), ts, te, includePeers });
    const dt = performance.now() - t;
    if (res.st <= 0n) throw new Error('st should be positive');
    if (i >= 10) {
      times.push(dt); // the first 10 warm the cache and the plans
      records += res.records;
    }
  }
  return { p50: pct(times, 50), p99: pct(times, 99), records: Math.round(records / queries) };
}

/**
 * A batch payment's st: n providers' 1-day intervals as n `computeSt` calls
 * (16 in flight, as a coordinator did before `ComputeStBatch`) against one
 * `computeStBatch` of n entries (one statement). Same answers, checked.
 */
async function measureBatch(calc: Calculator, n: number, reps: number) {
  const single: number[] = [];
  const batch: number[] = [];
  for (let rep = 0; rep < reps + 2; rep++) {
    const entries = [...Array(n).keys()].map((i) => {
      const ts = BigInt(((rep * 31 + i) * 104_729) % (YEAR - 7_200));
      return { user: USER, pid: addr(0xbb, (rep * n + i) % PROVIDERS), ts, te: ts + 7_200n };
    });
    let t = performance.now();
    const ones: bigint[] = new Array(n);
    let next = 0;
    await Promise.all(
      [...Array(16).keys()].map(async () => {
        while (next < n) {
          const i = next++;
          ones[i] = (await calc.computeSt(entries[i]!)).st;
        }
      }),
    );
    const dtSingle = performance.now() - t;
    t = performance.now();
    const res = await calc.computeStBatch({ entries });
    const dtBatch = performance.now() - t;
    if (res.results.some((r, i) => r.st !== ones[i])) throw new Error('batch and single st differ');
    if (rep >= 2) {
      single.push(dtSingle);
      batch.push(dtBatch);
    }
  }
  return { single: pct(single, 50), batch: pct(batch, 50) };
}

const pg = await startPostgres();
try {
  console.log(
    `machine: nproc=${cpus().length}, ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB; ` +
      `${PROVIDERS} providers × 1 year (${YEAR} blocks, a record every ${EVERY}) + ${PEER_KEEPERS} peer keepers for ${UNION_PROVIDERS}`,
  );
  const url = await pg.createDatabase('stbench');
  const pool = createPool({ url, log, max: 4 });
  await migrate(pool);
  await generate(pool);
  const calculator = (engine: 'sql' | 'core') =>
    createCalculator({
      pool,
      log,
      metrics: createMetrics(createRegistry('bench')),
      keeperId: 1,
      maxStaleness: MAX_STALENESS,
      engine,
    });
  const table: Array<Record<string, string>> = [];
  for (const engine of ['sql', 'core'] as const) {
    const calc = calculator(engine);
    for (const [name, span, queries] of [
      ['1 day', 7_200, QUERIES],
      ['30 days', 216_000, Math.ceil(QUERIES / 2)],
      ['1 year', YEAR, Math.ceil(QUERIES / 8)],
    ] as const) {
      for (const includePeers of [false, true]) {
        const m = await measure(calc, span, includePeers, queries);
        table.push({
          engine,
          interval: name,
          records: includePeers ? `union (1 own + ${PEER_KEEPERS} peers)` : 'own',
          queries: String(queries),
          'rows read': String(m.records),
          'p50 ms': m.p50.toFixed(2),
          'p99 ms': m.p99.toFixed(2),
        });
      }
    }
  }
  console.table(table);
  const sqlCalc = calculator('sql');
  const batches: Array<Record<string, string>> = [];
  for (const n of [10, 100, 500]) {
    const m = await measureBatch(sqlCalc, n, n >= 500 ? 5 : 10);
    batches.push({
      'entries (1 day each)': String(n),
      'n × computeSt, 16 in flight, p50 ms': m.single.toFixed(1),
      'one computeStBatch, p50 ms': m.batch.toFixed(1),
      'batch per entry, ms': (m.batch / n).toFixed(3),
    });
  }
  console.table(batches);
  await closePool(pool);
} finally {
  await pg.stop();
}
