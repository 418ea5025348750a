/**
 * Gas of Upkeeping.payBatch on anvil (Prague) with 7 keepers, f + 1 = 3 signers, for batches of 1, 10,
 * 100 and 500 providers: the first payment of every provider in the batch, then a later one (the same
 * providers, from the first batch's te). Anvil runs with a 300M block gas limit so that 500 entries fit
 * (a 30M block holds about 1,300 entries). Run: `pnpm bench batch` (prints a markdown table).
 */
import { rankKeepers } from '@whitepay/core';
import type { Address } from 'viem';
import { keccak256, stringToHex } from 'viem';
import { deployFactory, payBatch } from '../src/index.js';
import {
  addProvidersInOneBlock,
  aggregate,
  batchMessageFor,
  firstSigners,
  mineTo,
  nextBlock,
  setup,
  startChain,
} from '../test/fixture.js';

const N = 7;
const SIZES = [1, 10, 100, 500];
const SIGNERS = firstSigners(3);

const chain = await startChain({ gasLimit: 300_000_000n });
try {
  const factory = await deployFactory(chain.wallet(0));
  const rows: string[] = [];
  for (const [i, size] of SIZES.entries()) {
    const s = await setup(chain, { n: N, factory, userIndex: 32 + i, funding: 10n ** 21n });
    const leader = s.keepers[0]!;
    const keepers = s.keepers.map((k) => k.keeperId);
    const user = s.user.account.address;
    const ts = await nextBlock(chain);
    const te1 = ts + s.config.period;
    const te2 = te1 + s.config.period;
    // Providers led by `leader` (rank 1) both at ts and at te1, so one leader pays both batches.
    const pids: Address[] = [];
    for (let j = 0; pids.length < size; j++) {
      const pid = `0x${keccak256(stringToHex(`bench/${size}/${j}`)).slice(26)}` as Address;
      if (
        rankKeepers({ user, pid, ts, keepers })[0] === leader.keeperId &&
        rankKeepers({ user, pid, ts: te1, keepers })[0] === leader.keeperId
      ) {
        pids.push(pid);
      }
    }
    if ((await addProvidersInOneBlock(s, pids)) !== ts) throw new Error('providers not added at ts');
    const measure = async (from: bigint, te: bigint) => {
      await mineTo(chain, te);
      const entries = pids.map((pid, j) => ({
        pid,
        ts: from,
        te,
        st: 1_000_000_007n + from * 1000n + BigInt(j),
      }));
      const receipt = await payBatch(leader.client, {
        upkeeping: s.upkeeping,
        entries,
        leaderId: leader.keeperId,
        group: s.group,
        signers: SIGNERS,
        signature: aggregate(s, SIGNERS, batchMessageFor(s, leader.keeperId, entries)),
        gas: 250_000_000n,
      });
      if (receipt.logs.length !== size + 1) throw new Error('not every entry was paid');
      return receipt.gasUsed;
    };
    const first = await measure(ts, te1);
    const later = await measure(te1, te2);
    const per = (g: bigint) => (g / BigInt(size)).toString();
    rows.push(`| ${size} | ${first} | ${per(first)} | ${later} | ${per(later)} |`);
  }
  console.log(
    '| providers | first payments, total gas | per provider | later payments, total gas | per provider |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(r);
} finally {
  await chain.stop();
}
