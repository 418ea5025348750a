// Round latency (leader start → payment receipt) for 4, 7 and 16 keepers on
// loopback: every keeper's chain-submitter and consensus-coordinator in this
// process, real anvil/NATS/Redis (test/rounds/cluster.ts). `pnpm bench rounds`.
import { cpus } from 'node:os';
import { startCluster } from '../rounds/cluster.js';

const ROUNDS = Number(process.env.ROUNDS ?? 8);
const sizes = (process.env.KEEPERS ?? '4,7,16').split(',').map(Number);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;
}

const rows: string[] = [];
for (const n of sizes) {
  // All n keepers share this process's event loop, so their BLS work is serial:
  // give peer calls room (in production each keeper has its own processes).
  const c = await startCluster({ n, coordEnv: { CONSENSUS_COORDINATOR_PEER_DEADLINE_MS: '30000' } });
  const ms: number[] = [];
  try {
    // One warm-up round (JIT, gRPC channels), not counted.
    for (let i = 0; i <= ROUNDS; i++) {
      const ts = await c.nextTs();
      const leader = c.ranking(ts)[0]!;
      await c.mineTo(ts + c.u.H);
      const r = await c.roundOf(leader, ts, 60_000);
      if (r.outcome !== 'confirmed') throw new Error(`round ${i} of n=${n}: ${String(r.outcome)}`);
      if (i > 0) ms.push(Number(r.finishedAt) - Number(r.startedAt));
      await c.waitPaid(ts);
    }
  } finally {
    await c.stop();
  }
  ms.sort((a, b) => a - b);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  const f = Math.floor((n - 1) / 3);
  rows.push(
    `| ${n} | ${f + 1} | ${ms.length} | ${pct(ms, 0.5)} | ${mean.toFixed(0)} | ${pct(ms, 0.9)} | ${ms[ms.length - 1]} |`,
  );
}

process.stdout.write(
  [
    `round latency, leader start → receipt (ms); ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
    '',
    '| keepers | signers (f+1) | rounds | p50 | mean | p90 | max |',
    '| ------: | ------------: | -----: | --: | ---: | --: | --: |',
    ...rows,
    '',
  ].join('\n'),
);
process.exit(0);
