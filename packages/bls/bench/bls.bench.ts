/**
 * BLS throughput, one thread: the pure-JS reference (@noble/curves) against
 * the native backend (@chainsafe/blst), same inputs for both; then a leader's
 * check of n approval shares over one message — one `verify` per share (the
 * leaders before) against one `verifyShares` batch.
 * Run: pnpm bench bls   (or pnpm exec tsx --conditions=development packages/bls/bench/bls.bench.ts)
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { type Bls, createBls } from '../src/api.js';
import { loadBlstBackend } from '../src/backend/blst.js';
import { nobleBackend } from '../src/backend/noble.js';
import { secretKeyFromSeed } from '../src/keys.js';

const blstBackend = loadBlstBackend();
if (blstBackend instanceof Error) throw blstBackend;
const backends: Record<'noble' | 'blst', Bls> = {
  noble: createBls(nobleBackend),
  blst: createBls(blstBackend),
};

const MIN_MS = Number(process.env.BENCH_MIN_MS ?? 1500);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const loadBefore = load();

/** ms per call of `fn` (awaited), over at least MIN_MS and 3 calls, after one warm-up call. */
async function time(fn: () => unknown): Promise<number> {
  await fn();
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MIN_MS || n < 3) {
    await fn();
    n++;
    elapsed = performance.now() - start;
  }
  return elapsed / n;
}

/** Share of the wall time the event loop was busy while `fn` ran back to back (1 = blocked throughout). */
async function busy(fn: () => Promise<unknown>): Promise<number> {
  const before = performance.eventLoopUtilization();
  const end = performance.now() + MIN_MS;
  while (performance.now() < end) await fn();
  return performance.eventLoopUtilization(before).utilization;
}

const msg = new TextEncoder().encode(
  'WhitePay/v1 benchmark message, about the size of an ABI-encoded payment',
);
const keys = Array.from({ length: 16 }, (_, i) => {
  const sk = secretKeyFromSeed(new Uint8Array(32).fill(i + 1));
  return { sk, pk: backends.blst.publicKeyOf(sk) };
});
const sigs = keys.map((k) => backends.blst.sign(k.sk, msg));
const k0 = keys[0]!;
const s0 = sigs[0]!;
const pop = backends.blst.provePossession(k0.sk);

const fmt = (ms: number) => (ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));
const perSec = (ms: number) => (1000 / ms).toFixed(ms < 1 ? 0 : 1);
const rows: Record<string, string>[] = [];

async function compare(op: string, fn: (b: Bls) => unknown): Promise<void> {
  const js = await time(() => fn(backends.noble));
  const native = await time(() => fn(backends.blst));
  rows.push({
    op,
    'noble ms': fmt(js),
    'noble ops/s': perSec(js),
    'blst ms': fmt(native),
    'blst ops/s': perSec(native),
    speedup: `${(js / native).toFixed(0)}×`,
  });
}

await compare('sign', (b) => b.sign(k0.sk, msg));
await compare('verify', (b) => b.verify(k0.pk, msg, s0));
await compare('verifyPossession (noble in both)', (b) => b.verifyPossession(k0.pk, pop));
for (const n of [4, 7, 16]) {
  const part = sigs.slice(0, n);
  const pks = keys.slice(0, n).map((k) => k.pk);
  const agg = backends.blst.aggregateSignatures(part);
  await compare(`aggregateSignatures(${n})`, (b) => b.aggregateSignatures(part));
  await compare(`aggregatePublicKeys(${n}) (cached keys)`, (b) => b.aggregatePublicKeys(pks));
  await compare(`fastAggregateVerify(${n}) (cached keys)`, (b) => b.verifyAggregate(pks, msg, agg));
}

// ── a leader's check of n approval shares over one message ──
const shareRows: Record<string, string>[] = [];
for (const n of [4, 7, 16]) {
  const shares = keys.slice(0, n).map((k, i) => ({ publicKey: k.pk, signature: sigs[i]! }));
  const oneBad = shares.map((s, i) => (i === 1 ? { ...s, signature: sigs[0]! } : s));
  const oneByOne = (b: Bls) => () => shares.every((s) => b.verify(s.publicKey, msg, s.signature));
  const batch = (b: Bls, input: typeof shares) => () => b.verifyShares(msg, input);
  const jsOneByOne = await time(oneByOne(backends.noble));
  const jsBatch = await time(batch(backends.noble, shares));
  const nativeOneByOne = await time(oneByOne(backends.blst));
  const nativeBatch = await time(batch(backends.blst, shares));
  const nativeBad = await time(batch(backends.blst, oneBad));
  const elu = await busy(batch(backends.blst, shares));
  shareRows.push({
    n: String(n),
    'JS one by one ms (before)': fmt(jsOneByOne),
    'JS batch ms': fmt(jsBatch),
    'native one by one ms': fmt(nativeOneByOne),
    'native batch ms': fmt(nativeBatch),
    'native batch, 1 bad share ms': fmt(nativeBad),
    'before → native batch': `${(jsOneByOne / nativeBatch).toFixed(0)}×`,
    'event loop busy (native batch)': `${(elu * 100).toFixed(0)}%`,
  });
}

console.log(
  `@whitepay/bls — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ` +
    `${new Date().toISOString().slice(0, 10)}; load average (1/5/15 min) at start ${loadBefore}, at end ${load()}`,
);
console.table(rows);
console.log('leader share verification, n shares over one message (ms per round of shares)');
console.table(shareRows);
