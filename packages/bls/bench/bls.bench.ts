/**
 * BLS operation throughput (single thread, pure-JS @noble/curves).
 * Run: pnpm exec tsx --conditions=development packages/bls/bench/bls.bench.ts
 */
import {
  aggregatePublicKeys,
  aggregateSignatures,
  g2Eip2537FromMessage,
  provePossession,
  publicKeyOf,
  secretKeyFromSeed,
  sign,
  verify,
  verifyAggregate,
  verifyPossession,
} from '../src/index.js';

function bench(
  name: string,
  fn: () => unknown,
  minMs = 1500,
): { op: string; 'ops/s': string; 'ms/op': string } {
  fn(); // warm up
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    fn();
    n++;
    elapsed = performance.now() - start;
  }
  return { op: name, 'ops/s': (n / (elapsed / 1000)).toFixed(1), 'ms/op': (elapsed / n).toFixed(2) };
}

const keys = Array.from({ length: 31 }, (_, i) => {
  const sk = secretKeyFromSeed(new Uint8Array(32).fill(i + 1));
  return { sk, pk: publicKeyOf(sk) };
});
const msg = new TextEncoder().encode(
  'WhitePay/v1 benchmark message, about the size of an ABI-encoded payment',
);
const sigs = keys.map((k) => sign(k.sk, msg));
const k0 = keys[0];
const s0 = sigs[0];
if (!k0 || !s0) throw new Error('no keys');
const pop = provePossession(k0.sk);

const rows = [
  bench('sign', () => sign(k0.sk, msg)),
  bench('verify', () => verify(k0.pk, msg, s0)),
  bench('hash to G2 (EIP-2537)', () => g2Eip2537FromMessage(msg)),
  bench('verifyPossession', () => verifyPossession(k0.pk, pop)),
];
for (const n of [7, 16, 31]) {
  const part = sigs.slice(0, n);
  const pks = keys.slice(0, n).map((k) => k.pk);
  const agg = aggregateSignatures(part);
  rows.push(bench(`aggregateSignatures(${n})`, () => aggregateSignatures(part)));
  rows.push(bench(`aggregatePublicKeys(${n})`, () => aggregatePublicKeys(pks)));
  rows.push(bench(`verifyAggregate(${n})`, () => verifyAggregate(pks, msg, agg)));
}
console.log(`@whitepay/bls — node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
console.table(rows);
