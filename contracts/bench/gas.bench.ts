/**
 * Gas of a payment of one on anvil (Prague) for groups of 4, 7, 16 and 31 keepers: `Upkeeping.pay` for the
 * first payment of a provider, a later one, and a later one signed by the whole group, then a later
 * `payBatch` of that one entry (threshold f + 1 signers), then a later `pay` with a non-empty idle set (one
 * member other than the leader idle: excluded from the split through its baseline). Both verify the same
 * message, the batch message over the one entry. Run: `pnpm bench contracts` (prints a markdown table).
 */
import { deployFactory, pay, payBatch } from '../src/index.js';
import {
  aggregate,
  firstSigners,
  leaderFor,
  messageFor,
  mineTo,
  setup,
  startChain,
} from '../test/fixture.js';

const SIZES = [4, 7, 16, 31];

const chain = await startChain();
try {
  const factory = await deployFactory(chain.wallet(0));
  const rows: string[] = [];
  for (const [i, n] of SIZES.entries()) {
    const s = await setup(chain, { n, factory, userIndex: 32 + i, funding: 10n ** 20n });
    const threshold = Math.floor((n - 1) / 3) + 1;
    const measure = async (ts: bigint, signerCount: number, asBatch = false, withIdle = false) => {
      const { te, leader } = leaderFor(s, ts, 1);
      const leaderIndex = s.keepers.indexOf(leader);
      const idle = withIdle ? 1n << BigInt((leaderIndex + 1) % n) : 0n;
      await mineTo(chain, te);
      const st = 1_000_000_007n + ts; // a new value each time: an unchanged slot would cost less
      const signers = firstSigners(signerCount);
      const message = messageFor(s, { ts, te, st, leaderId: leader.keeperId, idle });
      const common = {
        upkeeping: s.upkeeping,
        leaderId: leader.keeperId,
        group: s.group,
        signers,
        signature: aggregate(s, signers, message),
      };
      const entry = { pid: s.pid, ts, te, st, idle };
      const receipt = asBatch
        ? await payBatch(leader.client, { ...common, entries: [entry] })
        : await pay(leader.client, { ...common, ...entry });
      if (receipt.logs.length !== 2) throw new Error('the entry was not paid');
      return { gas: receipt.gasUsed, te };
    };
    const first = await measure(s.ts0, threshold);
    const later = await measure(first.te, threshold);
    const all = await measure(later.te, n);
    const batch = await measure(all.te, threshold, true);
    const idle = await measure(batch.te, threshold, false, true);
    rows.push(
      `| ${n} | ${threshold} | ${first.gas} | ${later.gas} | ${all.gas} | ${batch.gas} | ${idle.gas} |`,
    );
  }
  console.log(
    '| keepers n | signers (f+1) | first pay, gas | later pay, gas | later pay, all n sign, gas | later payBatch of one, gas | later pay, one keeper idle, gas |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(r);
} finally {
  await chain.stop();
}
