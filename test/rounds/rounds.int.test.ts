import { createWriteStream } from 'node:fs';
import { createLogger } from '@whitepay/base';
import { upkeepingAbi } from '@whitepay/contracts';
import { rankKeepers, type SpaceRecord, spaceTime, splitReward, tid as tidOf } from '@whitepay/core';
import { SequenceClock, sealEnvelope } from '@whitepay/peer';
import { type challengeV1, keeperV1, storeV1 } from '@whitepay/proto';
import { call, insecure } from '@whitepay/rpc';
import { waitFor } from '@whitepay/testkit';
import { type Address, hexToBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  anvilKey,
  type DeployedUpkeeping,
  deployUpkeeping,
  HARNESS_ADMIN_TOKEN,
  type Infra,
  type KeeperHandle,
  type KeeperKeys,
  keeperKeys,
  linkCoordinators,
  type Miner,
  type ProviderHandle,
  registerPieces,
  startInfra,
  startKeeper,
  startMiner,
  startProviders,
} from '../harness/index.js';

// Issue "Payment rounds": 4 keepers, each its five real services (challenge-store,
// st-calculator, challenger, chain-submitter, consensus-coordinator) on one
// database per keeper, sharing NATS, Redis, PostgreSQL and one anvil; a real
// provider node storing the pieces. Every st comes from challenge records
// the challengers produced and the st-calculators integrated; faults are the
// coordinator's TEST-ONLY fault setting or real outages (a stopped service).

const BLOCK_MS = 1000;
const H = 10n;
const T = 8n;
const MAX_STALENESS = 4n;
const PIECES = [64 * 1024, 20_000];
const SPACE = BigInt(PIECES.reduce((a, b) => a + b, 0));
const ADMIN = { authorization: `Bearer ${HARNESS_ADMIN_TOKEN}` };

interface Payment {
  ts: bigint;
  te: bigint;
  st: bigint;
  amount: bigint;
  tid: `0x${string}`;
  leaderId: number;
  position: number;
  signers: bigint;
}

describe('payment rounds across 4 full keepers and a real provider', () => {
  let infra: Infra;
  let miner: Miner;
  let chain: DeployedUpkeeping;
  let provider: ProviderHandle;
  const keys: KeeperKeys[] = [1, 2, 3, 4].map((i) => keeperKeys(i, anvilKey(i)));
  const keepers: KeeperHandle[] = [];
  const userKey = anvilKey(0);

  const byId = (id: number) => keepers.find((k) => k.keeperId === id)!;
  const ranking = (ts: bigint): KeeperHandle[] =>
    rankKeepers({ user: chain.user, pid: provider.pid, ts, keepers: keys.map((k) => k.keeperId) }).map(byId);
  const read = <R>(functionName: 'lastPayment' | 'provider' | 'balanceOf', args: [Address]) =>
    chain.publicClient.readContract({
      address: chain.upkeeping,
      abi: upkeepingAbi,
      functionName,
      args,
    }) as Promise<R>;
  const nextTs = async () => (await read<[boolean, bigint, bigint]>('provider', [provider.pid]))[2];
  const lastPayment = () => read<Payment>('lastPayment', [provider.pid]);
  const balances = async () => {
    const out = new Map<string, bigint>();
    out.set('provider', await read<bigint>('balanceOf', [provider.pid]));
    for (const k of keepers) out.set(String(k.keeperId), await read<bigint>('balanceOf', [k.account]));
    return out;
  };
  const paymentsOf = async (ts: bigint) =>
    (
      await chain.publicClient.getContractEvents({
        address: chain.upkeeping,
        abi: upkeepingAbi,
        eventName: 'PaymentMade',
        fromBlock: chain.factoryBlock,
      })
    ).filter((e) => e.args.ts === ts);
  const waitPaid = (ts: bigint, timeoutMs = 60_000) =>
    waitFor(`payment of ts ${ts}`, async () => (await nextTs()) > ts, timeoutMs, 100);
  const signed = (p: Payment, k: KeeperHandle) => ((p.signers >> BigInt(k.keeperId - 1)) & 1n) === 1n;

  const coordUrl = (k: KeeperHandle) => k.urls['consensus-coordinator']!.http;
  const setFault = async (k: KeeperHandle, fault: string) => {
    const res = await fetch(`${coordUrl(k)}/v1/admin/fault`, {
      method: 'PUT',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ fault }),
    });
    expect(res.status).toBe(200);
  };
  const metrics = async (url: string) => (await fetch(`${url}/metrics`)).text();
  const metricSum = (text: string, pattern: RegExp) =>
    text
      .split('\n')
      .filter((l) => pattern.test(l))
      .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
  /** The round `leader` ran for `ts`, once final. */
  const roundOf = async (leaderHttp: string, ts: bigint, timeoutMs = 60_000) => {
    let found: Record<string, unknown> | undefined;
    await waitFor(
      `round of ts ${ts}`,
      async () => {
        const res = await fetch(`${leaderHttp}/v1/rounds`);
        const rounds = ((await res.json()) as { rounds: Array<Record<string, unknown>> }).rounds;
        found = rounds.find(
          (r) =>
            r.ts === String(ts) &&
            ['confirmed', 'reverted', 'rejected', 'failed'].includes(String(r.outcome)),
        );
        return found !== undefined;
      },
      timeoutMs,
      100,
    );
    return found!;
  };

  /** Records of (user, pid) in one keeper's store: its own, or the peers' it received. */
  async function records(k: KeeperHandle, source: 'own' | 'peer'): Promise<challengeV1.ChallengeRecord[]> {
    const client = new storeV1.ChallengeStoreServiceClient(k.urls['challenge-store']!.grpc!, insecure());
    try {
      const out: challengeV1.ChallengeRecord[] = [];
      let pageToken = '';
      do {
        const res = await call(client, client.queryRecords, {
          account: { user: hexToBytes(chain.user), pid: hexToBytes(provider.pid) },
          range: { from: 0n, to: 1n << 62n },
          source:
            source === 'own'
              ? storeV1.RecordSource.RECORD_SOURCE_OWN
              : storeV1.RecordSource.RECORD_SOURCE_PEER,
          pageSize: 1000,
          pageToken,
          withoutProofs: true,
        });
        out.push(...res.records);
        pageToken = res.nextPageToken;
      } while (pageToken);
      return out;
    } finally {
      client.close();
    }
  }
  const space = (rs: challengeV1.ChallengeRecord[]): SpaceRecord[] =>
    rs.map((r) => ({ block: r.block, space: r.space }));
  /** SPEC 4 over one keeper's own records, as its st-calculator computes it. */
  const ownSt = async (k: KeeperHandle, ts: bigint, te: bigint) =>
    spaceTime({ records: space(await records(k, 'own')), ts, te, maxStaleness: MAX_STALENESS });
  /** The full sync's union (st-calculator include_peers): every keeper's records, the largest space of a block. */
  const unionSt = async (ts: bigint, te: bigint) => {
    const byBlock = new Map<bigint, bigint>();
    for (const k of keepers)
      for (const r of await records(k, 'own'))
        byBlock.set(r.block, (byBlock.get(r.block) ?? 0n) > r.space ? byBlock.get(r.block)! : r.space);
    const merged = [...byBlock].map(([block, s]) => ({ block, space: s }));
    return spaceTime({ records: merged, ts, te, maxStaleness: MAX_STALENESS });
  };
  /** Exact balance changes of one payment: provider and keepers, `excluded` keepers get nothing. */
  const expectSplit = (
    before: Map<string, bigint>,
    after: Map<string, bigint>,
    p: Payment,
    excluded: KeeperHandle[],
  ) => {
    const split = splitReward({ amount: p.amount, keeperCount: keepers.length - excluded.length });
    expect(after.get('provider')! - before.get('provider')!).toBe(split.provider);
    for (const k of keepers) {
      const got = after.get(String(k.keeperId))! - before.get(String(k.keeperId))!;
      expect(got).toBe(excluded.includes(k) ? 0n : split.perKeeper);
    }
  };

  beforeAll(async () => {
    infra = await startInfra();
    [provider] = (await startProviders(1)) as [ProviderHandle];
    chain = await deployUpkeeping({
      rpcUrl: infra.anvil.rpcUrl,
      chainId: infra.anvil.chainId,
      userKey,
      keepers: keys,
      providers: [provider.pid],
      config: { period: H, window: T },
    });
    const pieces = await provider.put(chain.user, PIECES);
    // Stores first, pieces registered everywhere, then the rest: every
    // keeper challenges from the same first block, so honest keepers measure alike.
    for (const k of keys) {
      const keeper = await startKeeper({
        keeperId: k.keeperId,
        infra: infra.endpoints,
        accountKey: k.accountKey,
        blsSecretKey: k.blsSecretKey,
        upkeeping: { factory: chain.factory, fromBlock: chain.factoryBlock },
        peers: keys.filter((p) => p.keeperId !== k.keeperId),
        providers: { [provider.pid]: provider.grpcAddress },
        ...(process.env.ROUNDS_LOG
          ? {
              log: createLogger(
                { service: 'rounds', level: 'debug' },
                createWriteStream(`${process.env.ROUNDS_LOG}.${k.keeperId}`),
              ),
            }
          : {}),
        services: ['challenge-store', 'st-calculator'],
        env: {
          'st-calculator': { ST_CALCULATOR_MAX_STALENESS: String(MAX_STALENESS) },
          'chain-submitter': { CHAIN_SUBMITTER_POLL_INTERVAL_MS: '100' },
        },
      });
      keepers.push(keeper);
      await registerPieces({
        storeGrpc: keeper.urls['challenge-store']!.grpc!,
        userKey,
        pid: provider.pid,
        pieces,
        nonce: 1n,
        block: chain.providersAddedAt[provider.pid]!,
      });
    }
    miner = await startMiner(infra.anvil.rpcUrl, BLOCK_MS);
    for (const k of keepers) {
      await k.startService('challenger');
      await k.startService('chain-submitter');
      await k.startService('consensus-coordinator');
    }
    linkCoordinators(keepers);
  }, 180_000);

  afterAll(async () => {
    await miner?.stop();
    for (const k of keepers) await k.stop();
    await provider?.stop();
    await infra?.stop();
  });

  it('the rank-1 leader pays in its window: st from the records, the exact split', async () => {
    const ts = await nextTs();
    const leader = ranking(ts)[0]!;
    const before = await balances();
    miner.resume();
    await waitPaid(ts);
    miner.pause();
    const p = await lastPayment();
    expect(p.ts).toBe(ts);
    expect(p.leaderId).toBe(leader.keeperId);
    expect(p.te).toBeGreaterThanOrEqual(ts + H);
    expect(p.te).toBeLessThan(ts + H + T);
    expect(p.st).toBeGreaterThan(0n);
    expect(p.st).toBe(await ownSt(leader, ts, p.te));
    expect(p.amount).toBe(p.st); // price 1e18 per byte·block, scaled by 1e18
    expectSplit(before, await balances(), p, []);
    expect(await roundOf(coordUrl(leader), ts)).toMatchObject({
      outcome: 'confirmed',
      attempt: 1,
      proposal: 1,
    });
    expect((await fetch(`${coordUrl(leader)}/readyz`)).status).toBe(200);
  });
});
