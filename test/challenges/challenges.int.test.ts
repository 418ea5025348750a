import { silentLogger } from '@whitepay/base';
import { connectBus, subjects } from '@whitepay/bus';
import { challengeV1 } from '@whitepay/proto';
import { waitFor } from '@whitepay/testkit';
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  anvilKey,
  type DeployedUpkeeping,
  deployUpkeeping,
  type Infra,
  type KeeperHandle,
  keeperKeys,
  type ProviderHandle,
  registerPieces,
  type StoredPiece,
  startInfra,
  startKeeper,
  startProviders,
  storedRecords,
} from '../harness/index.js';

// Issue "Challenges end to end": real provider nodes, the challenger, NATS
// JetStream and the challenge-store on PostgreSQL, wired as in production
// (the challenger reads the piece registry from the store over gRPC; blocks
// come from the chain-submitter following anvil).

const { Verdict } = challengeV1;
const ADMIN = 'challenges-suite-admin-token';
const auth = { authorization: `Bearer ${ADMIN}` };

type Rec = challengeV1.ChallengeRecord;

const records = (k: KeeperHandle, user: Address, pid: Address): Promise<Rec[]> => storedRecords(k, user, pid);

async function metric(url: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) if (pattern.test(line)) total += Number(line.split(' ').pop());
  return total;
}

const total = (pieces: StoredPiece[]) => pieces.reduce((a, p) => a + p.size, 0n);

describe('challenges end to end: provider → challenger → JetStream → challenge-store → PostgreSQL', () => {
  let infra: Infra;
  let chain: DeployedUpkeeping;
  let keeper: KeeperHandle;
  let honest: ProviderHandle;
  let lossy: ProviderHandle;
  let offline: ProviderHandle;
  let forger: ProviderHandle;
  const stored: Record<string, StoredPiece[]> = {};
  const keys = keeperKeys(1, anvilKey(1));

  beforeAll(async () => {
    infra = await startInfra({ blockTime: 1 });
    [honest, lossy, offline, forger] = (await startProviders(4, {
      env: { PROVIDER_ADMIN_TOKEN: ADMIN },
    })) as [ProviderHandle, ProviderHandle, ProviderHandle, ProviderHandle];
    const all = [honest, lossy, offline, forger];
    chain = await deployUpkeeping({
      rpcUrl: infra.anvil.rpcUrl,
      chainId: infra.anvil.chainId,
      userKey: anvilKey(0),
      keepers: [keys],
      providers: all.map((p) => p.pid),
    });
    // Offline from the start: every challenge it meets fails.
    const res = await offline.app.http.inject({
      method: 'PUT',
      url: '/v1/admin/faults',
      headers: auth,
      payload: { mode: 'offline' },
    });
    expect(res.statusCode).toBe(200);
    keeper = await startKeeper({
      keeperId: keys.keeperId,
      infra: infra.endpoints,
      accountKey: keys.accountKey,
      blsSecretKey: keys.blsSecretKey,
      upkeeping: { factory: chain.factory, fromBlock: chain.factoryBlock },
      providers: Object.fromEntries(all.map((p) => [p.pid, p.grpcAddress])),
      services: ['challenge-store', 'challenger', 'chain-submitter'],
      env: { challenger: { CHALLENGER_DEADLINE_MS: '1500' } },
    });
    let nonce = 1n;
    for (const p of all) {
      stored[p.pid] = await p.put(chain.user, [32 * 1024, 12_000, 4096]);
      await registerPieces({
        storeGrpc: keeper.urls['challenge-store']!.grpc!,
        userKey: anvilKey(0),
        pid: p.pid,
        pieces: stored[p.pid]!,
        nonce: nonce++,
        block: chain.providersAddedAt[p.pid]!,
      });
    }
  }, 180_000);

  afterAll(async () => {
    await keeper?.stop();
    for (const p of [honest, lossy, offline, forger]) await p?.stop();
    await infra?.stop();
  });

  it('an honest provider yields records with its full space, one per block', async () => {
    await waitFor(
      '5 honest records',
      async () => (await records(keeper, chain.user, honest.pid)).length >= 5,
      60_000,
      250,
    );
    const recs = await records(keeper, chain.user, honest.pid);
    expect(
      recs.every((r) => r.verdict === Verdict.VERDICT_OK && r.space === total(stored[honest.pid]!)),
    ).toBe(true);
    expect(recs.every((r) => r.keeperId === keys.keeperId)).toBe(true);
  });

  it('an offline provider yields s = 0 records (a failed challenge is a record, never a gap)', async () => {
    await waitFor(
      'offline records',
      async () => (await records(keeper, chain.user, offline.pid)).length >= 3,
      60_000,
      250,
    );
    const recs = await records(keeper, chain.user, offline.pid);
    for (const r of recs) {
      expect(r.space).toBe(0n);
      expect([Verdict.VERDICT_UNREACHABLE, Verdict.VERDICT_TIMEOUT]).toContain(r.verdict);
    }
  });

  it('a provider that lost a piece is proven lower from then on; a forged proof is rejected and counted', async () => {
    const lost = stored[lossy.pid]![0]!;
    const lose = await lossy.app.http.inject({
      method: 'POST',
      url: `/v1/admin/pieces/${chain.user}/${lost.pieceId}/lose?pid=${lossy.pid}`,
      headers: auth,
    });
    expect(lose.statusCode).toBe(200);
    const forged = stored[forger.pid]!;
    for (const p of forged) {
      const res = await forger.app.http.inject({
        method: 'POST',
        url: `/v1/admin/pieces/${chain.user}/${p.pieceId}/corrupt?pid=${forger.pid}`,
        headers: auth,
      });
      expect(res.statusCode).toBe(200);
    }
    const challengerHttp = keeper.urls.challenger!.http;
    const invalidBefore = await metric(challengerHttp, /^whitepay_challenges_total\{verdict="invalid_proof"/);
    const reduced = total(stored[lossy.pid]!) - lost.size;
    await waitFor(
      'reduced records',
      async () =>
        (await records(keeper, chain.user, lossy.pid)).filter((r) => r.space === reduced).length >= 3 &&
        (await records(keeper, chain.user, forger.pid)).some(
          (r) => r.verdict === Verdict.VERDICT_INVALID_PROOF,
        ),
      60_000,
      250,
    );
    const recs = await records(keeper, chain.user, lossy.pid);
    const firstReduced = recs.findIndex((r) => r.space === reduced);
    // Before the loss: full space; from the loss on: exactly the lost piece's size less.
    expect(recs.slice(0, firstReduced).every((r) => r.space === total(stored[lossy.pid]!))).toBe(true);
    expect(
      recs.slice(firstReduced).every((r) => r.space === reduced && r.verdict === Verdict.VERDICT_PARTIAL),
    ).toBe(true);
    const bad = (await records(keeper, chain.user, forger.pid)).filter(
      (r) => r.verdict === Verdict.VERDICT_INVALID_PROOF,
    );
    expect(bad.every((r) => r.space === 0n)).toBe(true);
    expect(
      await metric(challengerHttp, /^whitepay_challenges_total\{verdict="invalid_proof"/),
    ).toBeGreaterThan(invalidBefore);
  });

  it('the store killed mid-stream and restarted loses and duplicates no record; malformed messages are rejected', async () => {
    const before = await records(keeper, chain.user, honest.pid);
    await keeper.stopService('challenge-store');
    // Records keep flowing into JetStream while the store is down; garbage too.
    const nc = await connectBus({ url: infra.endpoints.natsUrl, name: 'suite', log: silentLogger() });
    const s = subjects(keeper.namespace);
    const js = nc.jetstream();
    await js.publish(s.recordsFor(chain.user, honest.pid), new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    await js.publish(s.recordsFor(chain.user, honest.pid), new TextEncoder().encode('{"not":"protobuf"}'));
    await new Promise((r) => setTimeout(r, 4000));
    const urls = await keeper.startService('challenge-store');
    await waitFor(
      'malformed counted',
      async () => (await metric(urls.http, /^whitepay_rejected_messages_total\{/)) >= 2,
      30_000,
      250,
    );
    const target = before.length + 8;
    await waitFor(
      'records after restart',
      async () => (await records(keeper, chain.user, honest.pid)).length >= target,
      60_000,
      250,
    );
    await nc.close();
    const recs = await records(keeper, chain.user, honest.pid);
    const blocks = recs.map((r) => r.block);
    // Exactly one record per block, and no block missing between the first and the last.
    expect(new Set(blocks).size).toBe(blocks.length);
    const first = blocks[0]!;
    const last = blocks[blocks.length - 1]!;
    expect(BigInt(blocks.length)).toBe(last - first + 1n);
    expect(recs.every((r) => r.space === total(stored[honest.pid]!))).toBe(true);
  }, 180_000);
});
