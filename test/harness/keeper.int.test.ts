import { spaceTime } from '@whitepay/core';
import { stV1 } from '@whitepay/proto';
import { call, clientOptions, insecure } from '@whitepay/rpc';
import { waitFor } from '@whitepay/testkit';
import { type Address, hexToBytes } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anvilKey, type DeployedUpkeeping, deployUpkeeping, keeperKeys } from './chain.js';
import { startGroup } from './group.js';
import { type Infra, startInfra } from './infra.js';
import { AVAILABLE_SERVICES, HARNESS_INTERNAL_TOKEN, type KeeperHandle } from './keeper.js';
import { type ProviderHandle, startProviders } from './providers.js';
import { storedRecords } from './records.js';

const MAX_STALENESS = 50n;

/** Every own record of (user, pid) in one keeper's store, through its challenge-store's gRPC. */
const ownRecords = (k: KeeperHandle, user: Address, pid: Address) => storedRecords(k, user, pid, 'own');

describe('keeper cluster harness: 2 keepers, 1 provider, anvil, a deployed Upkeeping', () => {
  let infra: Infra;
  let chain: DeployedUpkeeping;
  let provider: ProviderHandle;
  const keepers: KeeperHandle[] = [];
  const userKey = anvilKey(0);
  const keys = [keeperKeys(1, anvilKey(1)), keeperKeys(2, anvilKey(2))];

  beforeAll(async () => {
    infra = await startInfra({ blockTime: 1 });
    [provider] = (await startProviders(1)) as [ProviderHandle];
    chain = await deployUpkeeping({
      rpcUrl: infra.anvil.rpcUrl,
      chainId: infra.anvil.chainId,
      userKey,
      keepers: keys,
      providers: [provider.pid],
    });
    const pieces = await provider.put(chain.user, [64 * 1024, 20_000]);
    keepers.push(
      ...(await startGroup({
        infra: infra.endpoints,
        chain,
        keys,
        userKey,
        pieces: [{ pid: provider.pid, pieces, block: chain.providersAddedAt[provider.pid]! }],
        providers: { [provider.pid]: provider.grpcAddress },
        env: { 'st-calculator': { ST_CALCULATOR_MAX_STALENESS: String(MAX_STALENESS) } },
      })),
    );
  });

  afterAll(async () => {
    for (const k of keepers) await k.stop();
    await provider?.stop();
    await infra?.stop();
  });

  it('starts every available service of each keeper, each with its own database', () => {
    for (const k of keepers) {
      expect(k.running()).toEqual([...AVAILABLE_SERVICES]);
      expect(k.urls['st-calculator']?.grpc).toMatch(/^127\.0\.0\.1:\d+$/);
    }
    expect(new Set(keepers.map((k) => k.databaseUrl)).size).toBe(2);
  });

  it("the challenger fills each keeper's own store; its st-calculator's st equals core spaceTime over those records", async () => {
    const expectedSpace = 64n * 1024n + 20_000n;
    for (const k of keepers) {
      await waitFor(
        `keeper ${k.keeperId} has 5 verified records`,
        async () =>
          (await ownRecords(k, chain.user, provider.pid)).filter((r) => r.space === expectedSpace).length >=
          5,
        40_000,
        250,
      );
    }
    for (const k of keepers) {
      const records = await ownRecords(k, chain.user, provider.pid);
      expect(records.every((r) => r.keeperId === k.keeperId)).toBe(true);
      const blocks = records.map((r) => r.block);
      const ts = blocks[0]! + 1n; // the first record is carried over onto [ts, b_2)
      const te = blocks[blocks.length - 1]! + 1n; // the record due before te is the last one read: no wait, no later record
      const want = spaceTime({
        records: records.map((r) => ({ block: r.block, space: r.space })),
        ts,
        te,
        maxStaleness: MAX_STALENESS,
      });
      const client = new stV1.StCalculatorServiceClient(
        k.urls['st-calculator']!.grpc!,
        insecure(),
        clientOptions({ token: HARNESS_INTERNAL_TOKEN }),
      );
      try {
        const res = await call(client, client.computeSt, {
          account: { user: hexToBytes(chain.user), pid: hexToBytes(provider.pid) },
          ts,
          te,
          includePeers: false,
        });
        expect(BigInt(res.st)).toBe(want);
        expect(BigInt(res.st)).toBeGreaterThan(0n);
        expect(res.recordsUsed).toBe(records.length - 1);
        expect(res.carryBlock).toBe(blocks[0]);
      } finally {
        client.close();
      }
    }
  });

  it('stops and restarts one service of one keeper', async () => {
    const k = keepers[0]!;
    await k.stopService('st-calculator');
    expect(k.running()).not.toContain('st-calculator');
    const urls = await k.startService('st-calculator');
    const res = await fetch(`${urls.http}/readyz`);
    expect(res.status).toBe(200);
  });
});
