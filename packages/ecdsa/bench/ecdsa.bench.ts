// `pnpm bench ecdsa`: EIP-191 secp256k1 signing and signer recovery over 32-byte digests, libsecp256k1
// (this package) against viem's pure-JS path (what records and envelopes used before), same inputs.
import { cpus } from 'node:os';
import { keccak256, recoverMessageAddress, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { backend, recoverSigner, Signer } from '../src/index.js';

const N = 3_000;
const key = keccak256(toHex('bench key'));
const digests = Array.from({ length: N }, (_, i) => keccak256(toHex(`digest ${i}`)));
const account = privateKeyToAccount(key);
const signer = new Signer(key);

async function time(label: string, fn: (i: number) => unknown): Promise<[string, number]> {
  for (let i = 0; i < 200; i++) await fn(i); // warm-up
  const t = performance.now();
  for (let i = 0; i < N; i++) await fn(i);
  return [label, (performance.now() - t) / N];
}

const viemSigs = await Promise.all(digests.map((d) => account.signMessage({ message: { raw: d } })));
const rows = [
  await time('sign, viem (noble, JS)', (i) => account.signMessage({ message: { raw: digests[i]! } })),
  await time(`sign, @whitepay/ecdsa (${backend})`, (i) => signer.sign(digests[i]!)),
  await time('recover, viem (noble, JS)', (i) =>
    recoverMessageAddress({ message: { raw: digests[i]! }, signature: viemSigs[i]! }),
  ),
  await time(`recover, @whitepay/ecdsa (${backend})`, (i) => recoverSigner(digests[i]!, viemSigs[i]!)),
];
process.stdout.write(
  [
    `EIP-191 secp256k1 over 32-byte digests, ${N} operations each; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
    '',
    '| operation | µs each | per second |',
    '| --- | ---: | ---: |',
    ...rows.map(
      ([l, ms]) => `| ${l} | ${(ms * 1000).toFixed(1)} | ${Math.round(1000 / ms).toLocaleString('en-US')} |`,
    ),
    '',
  ].join('\n'),
);
