/**
 * Gas of Upkeeping.pay on anvil (Prague) for groups of 4, 7, 16 and 31 keepers: the first payment of a
 * provider (its record's slots written from zero) and a later one (slots updated), signed by the default
 * threshold f + 1 and by the whole group. Run: `pnpm bench contracts` (prints a markdown table).
 */
import { deployFactory, pay } from '../src/index.js';
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
    const measure = async (ts: bigint, signerCount: number) => {
      const { te, leader, position } = leaderFor(s, ts, 1);
      await mineTo(chain, te);
      const st = 1_000_000_007n + ts; // a new value each time: an unchanged slot would cost less
      const signers = firstSigners(signerCount);
      const message = messageFor(s, { ts, te, st, leaderId: leader.keeperId, position });
      const receipt = await pay(leader.client, {
        upkeeping: s.upkeeping,
        pid: s.pid,
        ts,
        te,
        st,
        leaderId: leader.keeperId,
        group: s.group,
        signers,
        signature: aggregate(s, signers, message),
      });
      return { gas: receipt.gasUsed, te };
    };
    const first = await measure(s.ts0, threshold);
    const later = await measure(first.te, threshold);
    const all = await measure(later.te, n);
    rows.push(`| ${n} | ${threshold} | ${first.gas} | ${later.gas} | ${all.gas} |`);
  }
  console.log('| keepers n | signers (f+1) | first pay, gas | later pay, gas | later pay, all n sign, gas |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(r);
} finally {
  await chain.stop();
}
