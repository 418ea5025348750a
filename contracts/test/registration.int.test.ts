import {
  aggregatePublicKeys,
  fromHex,
  g1FromEip2537,
  g1Negate,
  g1ToEip2537,
  g2ToEip2537,
  publicKeyOf,
  sign,
  toHex,
} from '@whitepay/bls';
import { rankKeepers } from '@whitepay/core';
import type { Address, Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upkeepingAbi, upkeepingFactoryAbi } from '../generated/index.js';
import {
  addKeeper,
  addProvider,
  createUpkeeping,
  decodeProviderStates,
  decodeUpkeepingError,
  deployFactory,
  readGroup,
  readProviderStates,
  removeKeeper,
  removeProvider,
  UpkeepingError,
  upkeepingOf,
} from '../src/index.js';
import { type Chain, keeperKey, startChain } from './fixture.js';

let chain: Chain;
let factory: Address;
let upkeeping: Address;
const config = { price: 10n ** 18n, period: 10n, window: 5n };

beforeAll(async () => {
  chain = await startChain();
  factory = await deployFactory(chain.wallet(0));
  upkeeping = await createUpkeeping(chain.wallet(0), { factory, config });
});

afterAll(async () => {
  await chain?.stop();
});

async function expectRevert(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpkeepingError);
  expect((err as UpkeepingError).code).toBe(code);
}

const register = (id: number, account: Address, publicKey: Hex, proofOfPossession: Hex, from = 0) =>
  addKeeper(chain.wallet(from), { upkeeping, keeperId: id, account, publicKey, proofOfPossession });

describe('UpkeepingFactory', () => {
  it('creates one Upkeeping per user at its predicted address', async () => {
    const user = chain.wallet(0).account.address;
    expect(await upkeepingOf(chain.wallet(0), { factory, user })).toBe(upkeeping);
    const predicted = await chain.public.readContract({
      address: factory,
      abi: upkeepingFactoryAbi,
      functionName: 'predictUpkeeping',
      args: [user],
    });
    expect(predicted).toBe(upkeeping);
    await expectRevert(
      createUpkeeping(chain.wallet(0), { factory, config }),
      'UpkeepingFactoryAlreadyCreated',
    );
    const other = await createUpkeeping(chain.wallet(30), { factory, config });
    expect(other).not.toBe(upkeeping);
    const owner = await chain.public.readContract({
      address: other,
      abi: upkeepingAbi,
      functionName: 'user',
    });
    expect(owner).toBe(chain.wallet(30).account.address);
  });

  it("keeps the user in the clone's code (immutable arg), not in storage; the implementation has none", async () => {
    const user = chain.wallet(0).account.address;
    const code = await chain.public.getCode({ address: upkeeping });
    // 45 bytes of EIP-1167 proxy, then the user's 20 bytes.
    expect(code?.length).toBe(2 + 2 * (45 + 20));
    expect(`0x${code?.slice(2 + 90)}`).toBe(user.toLowerCase());
    const implementation = await chain.public.readContract({
      address: factory,
      abi: upkeepingFactoryAbi,
      functionName: 'implementation',
    });
    const none = await chain.public.readContract({
      address: implementation,
      abi: upkeepingAbi,
      functionName: 'user',
    });
    expect(none).toBe('0x0000000000000000000000000000000000000000');
    // No user-only call succeeds on the implementation (its user is address 0).
    await expectRevert(
      addProvider(chain.wallet(0), { upkeeping: implementation, pid: chain.wallet(9).account.address }),
      'UpkeepingUnauthorized',
    );
  });

  it('refuses a second initialization', async () => {
    await expectRevert(
      chain
        .wallet(0)
        .writeContract({
          address: upkeeping,
          abi: upkeepingAbi,
          functionName: 'initialize',
          args: [
            chain.wallet(5).account.address,
            { ...config, threshold: 0, providerBps: 9000, leaderBonusBps: 0 },
          ],
        })
        .catch((e: unknown) => {
          throw decodeUpkeepingError(e);
        }),
      'InvalidInitialization',
    );
  });
});

describe('Upkeeping keeper registration', () => {
  it('accepts keys whose proof of possession verifies, for both signs of y', async () => {
    // The contract compresses each key itself; the PoP only verifies if it sets the sign flag right.
    const flags = new Set<number>();
    for (let i = 1; i <= 6; i++) {
      const { sk, publicKey, pop } = keeperKey(200 + i);
      flags.add(publicKeyOf(sk)[0]! & 0x20);
      await register(200 + i, chain.wallet(i).account.address, publicKey, pop);
    }
    expect(flags).toEqual(new Set([0, 0x20]));
    const [ids] = await chain.public.readContract({
      address: upkeeping,
      abi: upkeepingAbi,
      functionName: 'members',
    });
    expect(ids).toEqual([201, 202, 203, 204, 205, 206]);
  });

  it('refuses a rogue key (pk_attacker − Σ pk_honest) without a valid proof of possession', async () => {
    const attacker = keeperKey(300);
    const honest = [1, 2, 3].map((i) => g1FromEip2537(fromHex(keeperKey(200 + i).publicKey)));
    const rogue = aggregatePublicKeys([publicKeyOf(attacker.sk), ...honest.map((pk) => g1Negate(pk))]);
    const rogueKey = toHex(g1ToEip2537(rogue));
    const account = chain.wallet(10).account.address;
    // The attacker can only offer a PoP of a key it knows, or a signature made for the wrong purpose.
    await expectRevert(register(300, account, rogueKey, attacker.pop), 'UpkeepingInvalidProofOfPossession');
    const sigOverKey = toHex(g2ToEip2537(sign(attacker.sk, rogue)));
    await expectRevert(register(300, account, rogueKey, sigOverKey), 'UpkeepingInvalidProofOfPossession');
    // Its own key with a signature-DST signature instead of a PoP-DST one.
    const wrongDst = toHex(g2ToEip2537(sign(attacker.sk, publicKeyOf(attacker.sk))));
    await expectRevert(
      register(300, account, attacker.publicKey, wrongDst),
      'UpkeepingInvalidProofOfPossession',
    );
    // The identity as key.
    await expectRevert(
      register(300, account, `0x${'00'.repeat(128)}`, attacker.pop),
      'UpkeepingInvalidProofOfPossession',
    );
  });

  it('refuses duplicate ids, keys and accounts, and non-owners', async () => {
    const k = keeperKey(301);
    await expectRevert(
      register(201, chain.wallet(11).account.address, k.publicKey, k.pop),
      'UpkeepingDuplicateKeeperId',
    );
    const taken = keeperKey(201);
    await expectRevert(
      register(301, chain.wallet(11).account.address, taken.publicKey, taken.pop),
      'UpkeepingDuplicateKey',
    );
    await expectRevert(
      register(301, chain.wallet(1).account.address, k.publicKey, k.pop),
      'UpkeepingDuplicateKeeperAccount',
    );
    await expectRevert(
      register(301, chain.wallet(11).account.address, k.publicKey, k.pop, 11),
      'UpkeepingUnauthorized',
    );
    await expectRevert(
      addProvider(chain.wallet(11), { upkeeping, pid: chain.wallet(11).account.address }),
      'UpkeepingUnauthorized',
    );
  });

  it('removes a keeper and updates the group commitment', async () => {
    const before = await readGroup(chain.wallet(0), { upkeeping });
    await removeKeeper(chain.wallet(0), { upkeeping, keeperId: 202 });
    const after = await readGroup(chain.wallet(0), { upkeeping });
    expect(after.length).toBe(before.length - 152 * 2);
    const [ids] = await chain.public.readContract({
      address: upkeeping,
      abi: upkeepingAbi,
      functionName: 'members',
    });
    expect(ids).toEqual([201, 206, 203, 204, 205]);
    await expectRevert(removeKeeper(chain.wallet(0), { upkeeping, keeperId: 202 }), 'UpkeepingUnknownKeeper');
  });

  it('orders the leader schedule by keccak256(abi.encode(user, pid, ts, keeperId))', async () => {
    const pid = chain.wallet(39).account.address;
    const ids = await chain.public.readContract({
      address: upkeeping,
      abi: upkeepingAbi,
      functionName: 'leaderSchedule',
      args: [pid, 1234n],
    });
    expect(ids).toEqual(
      rankKeepers({
        user: chain.wallet(0).account.address,
        pid,
        ts: 1234n,
        keepers: [201, 206, 203, 204, 205],
      }),
    );
  });
});

describe('Upkeeping provider list', () => {
  it('pages every provider with its state through providerStates', async () => {
    const list = await createUpkeeping(chain.wallet(1), { factory, config });
    const pids = [30, 31, 32, 33, 34].map((i) => chain.wallet(i).account.address);
    const added: bigint[] = [];
    for (const pid of pids) {
      added.push((await addProvider(chain.wallet(1), { upkeeping: list, pid })).blockNumber);
    }
    await removeProvider(chain.wallet(1), { upkeeping: list, pid: pids[2]! });
    const expected = pids.map((pid, i) => ({ pid: pid.toLowerCase(), active: i !== 2, nextTs: added[i]! }));

    for (const pageSize of [1, 2, 3, 5, 7]) {
      expect(await readProviderStates(chain.public, { upkeeping: list, pageSize })).toEqual(expected);
    }
    const page = (start: bigint, count: bigint) =>
      chain.public.readContract({
        address: list,
        abi: upkeepingAbi,
        functionName: 'providerStates',
        args: [start, count],
      });
    const [total, middle] = await page(1n, 2n);
    expect(total).toBe(5n);
    expect(decodeProviderStates(middle)).toEqual(expected.slice(1, 3));
    // Past the end: the total and nothing else; a huge count does not overflow.
    expect(await page(5n, 10n)).toEqual([5n, '0x']);
    expect(await page(9n, 1n)).toEqual([5n, '0x']);
    expect(decodeProviderStates((await page(3n, 2n ** 256n - 1n))[1])).toEqual(expected.slice(3));
    expect(() => decodeProviderStates('0x0011')).toThrow(/not a multiple of 29/);
    // At an earlier block the list is what it was then.
    expect(
      await readProviderStates(chain.public, { upkeeping: list, blockNumber: added[1]!, pageSize: 2 }),
    ).toEqual(expected.slice(0, 2).map((p) => ({ ...p, active: true })));
    // An empty list.
    const empty = await createUpkeeping(chain.wallet(2), { factory, config });
    expect(await readProviderStates(chain.public, { upkeeping: empty })).toEqual([]);
  });
});
