import { createRegistry, type Registry, silentLogger } from '@whitepay/base';
import { connectBus, subjects } from '@whitepay/bus';
import { type RegisteredPiece, recoverRecordSigner } from '@whitepay/challenge';
import { challengeV1 } from '@whitepay/proto';
import { startNats, waitFor } from '@whitepay/testkit';
import type { NatsConnection } from 'nats';
import { bytesToHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChallengerApp, createApp } from './app.js';
import { loadConfig } from './config.js';
import { challengerSubjects } from './nats/streams.js';
import { MemoryPieceRegistry } from './registry/memory.js';
import {
  addressOf,
  fakeNode,
  publishBlock,
  publishRaw,
  readRecords,
  readStream,
  startProvider,
  type TestProvider,
} from './testing/harness.js';

const { Verdict } = challengeV1;
const user = addressOf(0xa1);
const pid = {
  honest: addressOf(1),
  loses: addressOf(2),
  corrupts: addressOf(3),
  slow: addressOf(4),
  gone: addressOf(5),
};
const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };

describe('challenger on real NATS against real provider nodes', () => {
  const stops: Array<() => Promise<void>> = [];
  let nc: NatsConnection;
  let app: ChallengerApp;
  let metrics: Registry;
  const providers: Record<string, TestProvider> = {};
  const sizes: Record<string, bigint[]> = {};
  const held: Record<string, RegisteredPiece[]> = {};
  const key = generatePrivateKey();
  const ns = 'k7';
  const s = subjects(ns);

  beforeAll(async () => {
    const nats = await startNats();
    stops.push(nats.stop);
    nc = await connectBus({ url: nats.url, name: 'test', log: silentLogger() });
    stops.push(() => nc.close());
    const registry = new MemoryPieceRegistry();
    const specs: Record<string, [Record<string, string>, number[]]> = {
      honest: [{}, [100_000, 5_000]],
      loses: [{}, [40_000, 9_000, 1]],
      corrupts: [{}, [20_000, 30_000]],
      slow: [{ PROVIDER_FAULT_MODE: 'slow', PROVIDER_FAULT_DELAY_MS: '2000' }, [4096]],
    };
    for (const [name, [env, sz]] of Object.entries(specs)) {
      const p = await startProvider({ ...env, PROVIDER_ADDRESS: pid[name as keyof typeof pid] });
      stops.push(p.stop);
      providers[name] = p;
      const pieces = await p.put(user, sz);
      for (const piece of pieces) registry.add({ user, pid: pid[name as keyof typeof pid] }, piece);
      sizes[name] = pieces.map((x) => x.size);
      held[name] = pieces;
    }
    registry.add(
      { user, pid: pid.gone },
      { pieceId: `0x${'11'.repeat(32)}`, size: 4096n, root: `0x${'22'.repeat(32)}`, leafSize: 4096 },
    );
    const providerMap = [
      ...Object.entries(providers).map(([name, p]) => `${pid[name as keyof typeof pid]}=${p.address}`),
      `${pid.gone}=127.0.0.1:1`,
    ].join(',');
    metrics = createRegistry('challenger');
    app = await createApp({
      config: loadConfig({
        CHALLENGER_KEEPER_ID: '7',
        CHALLENGER_NATS_URL: nats.url,
        CHALLENGER_STORE_GRPC_URL: '127.0.0.1:1',
        CHALLENGER_RPC_URL: 'http://127.0.0.1:1',
        CHALLENGER_PROVIDERS: providerMap,
        CHALLENGER_DEADLINE_MS: '500',
        CHALLENGER_ACK_WAIT_MS: '5000',
        CHALLENGER_KEEPER_PRIVATE_KEY: key,
      }),
      log: silentLogger(),
      registry: metrics,
      nc,
      pieces: registry,
      chain: fakeNode(),
    });
    await app.start();
    stops.push(() => app.stop());
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  const recordsAt = async (block: number, n: number) => {
    const jsm = await nc.jetstreamManager();
    let got: Awaited<ReturnType<typeof readRecords>> = [];
    await waitFor(
      `${n} records of block ${block}`,
      async () => {
        got = (await readRecords(jsm, s.streams.records)).filter((r) => r.record.block === BigInt(block));
        return got.length >= n;
      },
      15_000,
    );
    const byPid: Record<string, challengeV1.ChallengeRecord> = {};
    for (const r of got) byPid[bytesToHex(r.record.pid)] = r.record;
    return byPid;
  };
  const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);

  it('honest providers prove their full space; offline ones yield s = 0 records', async () => {
    await publishBlock(nc.jetstream(), s, 1, key);
    const r = await recordsAt(1, 5);
    expect(r[pid.honest]).toMatchObject({
      verdict: Verdict.VERDICT_OK,
      space: sum(sizes.honest!),
      keeperId: 7,
      block: 1n,
    });
    expect(r[pid.loses]).toMatchObject({ verdict: Verdict.VERDICT_OK, space: sum(sizes.loses!) });
    expect(r[pid.corrupts]).toMatchObject({ verdict: Verdict.VERDICT_OK, space: sum(sizes.corrupts!) });
    expect(r[pid.slow]).toMatchObject({ verdict: Verdict.VERDICT_TIMEOUT, space: 0n });
    expect(r[pid.gone]).toMatchObject({ verdict: Verdict.VERDICT_UNREACHABLE, space: 0n });
    expect(r[pid.honest]!.proof!.leaves.length).toBeGreaterThan(0);
    expect(r[pid.honest]!.proof!.leavesPerPiece).toBe(2);
  });

  it('a lost piece lowers s by exactly its size; corruption gives PARTIAL then INVALID_PROOF', async () => {
    const lost = held.loses![0]!;
    expect(lost.size).toBe(40_000n);
    let res = await providers.loses!.app.http.inject({
      method: 'POST',
      url: `/v1/admin/pieces/${user}/${lost.pieceId}/lose`,
      headers: ADMIN,
    });
    expect(res.statusCode).toBe(200);
    const [c1, c2] = await providers.corrupts!.app.store.list(user);
    res = await providers.corrupts!.app.http.inject({
      method: 'POST',
      url: `/v1/admin/pieces/${user}/${c1!.pieceId}/corrupt`,
      headers: ADMIN,
    });
    expect(res.statusCode).toBe(200);
    await publishBlock(nc.jetstream(), s, 2, key);
    const r = await recordsAt(2, 5);
    expect(r[pid.loses]).toMatchObject({
      verdict: Verdict.VERDICT_PARTIAL,
      space: sum(sizes.loses!) - 40_000n,
    });
    expect(r[pid.corrupts]).toMatchObject({ verdict: Verdict.VERDICT_PARTIAL, space: BigInt(c2!.size) });
    const failed = r[pid.corrupts]!.pieces.find((p) => !p.verified);
    expect(failed?.reason).toBe('PROOF_ROOT_MISMATCH');
    await providers.corrupts!.app.store.corrupt(user, c2!.pieceId);
    await publishBlock(nc.jetstream(), s, 3, key);
    const r3 = await recordsAt(3, 5);
    expect(r3[pid.corrupts]).toMatchObject({ verdict: Verdict.VERDICT_INVALID_PROOF, space: 0n });
    const text = await metrics.metrics();
    expect(text).toMatch(/whitepay_challenges_total\{verdict="invalid_proof"[^}]*\} 1/);
    expect(text).toMatch(/whitepay_challenges_total\{verdict="partial"[^}]*\} 3/);
    expect(text).toMatch(/whitepay_challenges_total\{verdict="timeout"[^}]*\} 3/);
    expect(text).toMatch(/whitepay_challenges_total\{verdict="unreachable"[^}]*\} 3/);
  });

  it('malformed block messages are rejected, counted and acked; later blocks still processed', async () => {
    const js = nc.jetstream();
    await publishRaw(js, s, 'not json at all', key);
    await publishRaw(js, s, JSON.stringify({ number: -1, hash: '0x12' }), key);
    await publishBlock(js, s, 4, key);
    const r = await recordsAt(4, 5);
    expect(r[pid.honest]).toMatchObject({ verdict: Verdict.VERDICT_OK });
    const text = await metrics.metrics();
    expect(text).toMatch(
      /whitepay_rejected_messages_total\{boundary="nats:blocks",reason="BLOCK_MESSAGE_INVALID"[^}]*\} 2/,
    );
    const jsm = await nc.jetstreamManager();
    const info = await jsm.consumers.info(s.streams.blocks, 'challenger');
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
  });

  it('signs every record for peers on <ns>.peer-out and serves its operator API', async () => {
    const jsm = await nc.jetstreamManager();
    const c = challengerSubjects(s);
    const out = await readStream(jsm, c.streams.peerOut);
    expect(out.length).toBe(20);
    const signer = privateKeyToAccount(key).address;
    for (const m of out.slice(0, 5)) {
      const signed = challengeV1.SignedRecord.decode(m.data);
      expect(await recoverRecordSigner(signed)).toBe(signer);
    }
    const records = await readRecords(jsm, s.streams.records);
    expect(records.map((r) => r.msgID)).toContain(`7:${user}:${pid.honest}:1`);
    const status = (await app.http.inject('/v1/status')).json();
    expect(status).toMatchObject({ keeperId: 7, namespace: ns, blocksFannedOut: 4, recordsPublished: 20 });
    expect((await app.http.inject('/readyz')).statusCode).toBe(200);
    expect((await app.http.inject('/docs/json')).json().paths['/v1/status']).toBeDefined();
  });
});
