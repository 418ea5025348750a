import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistry, silentLogger } from '@whitepay/base';
import { buildChallenge, deriveSeed, type RegisteredPiece, verifyChallenge } from '@whitepay/challenge';
import { challengeV1, providerV1 } from '@whitepay/proto';
import { call, insecure } from '@whitepay/rpc';
import { bytesToHex, getAddress, type Hex, hexToBytes, keccak256, toHex } from 'viem';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { loadConfig } from './config.js';

const user = '0x1111111111111111111111111111111111111111';
const pidOf = (i: number): Hex => `0x${(0xb000 + i).toString(16).padStart(40, '0')}`;
const TOKEN = 'provider-admin-token-0123456789';
const admin = { authorization: `Bearer ${TOKEN}` };

async function node(env: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'provider-mt-'));
  const app = await createApp({
    config: loadConfig({
      PROVIDER_DATA_DIR: dir,
      PROVIDER_GRPC_HOST: '127.0.0.1',
      PROVIDER_GRPC_PORT: '0',
      PROVIDER_ADMIN_TOKEN: TOKEN,
      PROVIDER_MAX_OPEN_FILES: '8',
      ...env,
    }),
    log: silentLogger(),
    registry: createRegistry('provider'),
  });
  await app.start();
  const client = new providerV1.ProviderServiceClient(app.grpcAddress(), insecure());
  return {
    app,
    client,
    async stop() {
      client.close();
      await app.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

type Node = Awaited<ReturnType<typeof node>>;

async function put(n: Node, pid: Hex | undefined, seed: number, size = 16_384): Promise<RegisteredPiece> {
  const res = await call(n.client, n.client.putPiece, {
    user: hexToBytes(user),
    pieceId: new Uint8Array(),
    data: new Uint8Array(size).map((_, i) => (i * 31 + seed) & 255),
    leafSize: 0,
    ...(pid ? { pid: hexToBytes(pid) } : {}),
  });
  return {
    pieceId: bytesToHex(res.pieceId),
    size: res.size,
    root: bytesToHex(res.root),
    leafSize: res.leafSize,
  };
}

async function challenge(n: Node, pid: Hex, regs: RegisteredPiece[], block = 'b1', deadlineMs = 2_000) {
  const seed = deriveSeed(keccak256(toHex(block)), 1, user, pid);
  const spec = { seed, leavesPerPiece: 2 };
  const res = await call(
    n.client,
    n.client.challenge,
    {
      user: hexToBytes(user),
      pid: hexToBytes(pid),
      keeperId: 1,
      block: 1n,
      seed: hexToBytes(seed),
      pieces: buildChallenge(regs, spec),
    },
    { deadlineMs },
  );
  return verifyChallenge(regs, spec, res);
}

describe('multi-tenant provider node over real gRPC', () => {
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const s of stops) await s();
  });

  it('any-pid mode: each pid is answered from its own pieces only, with few open files', async () => {
    const n = await node({});
    stops.push(n.stop);
    const PIDS = 40;
    const regs: RegisteredPiece[] = [];
    for (let i = 0; i < PIDS; i++) regs.push(await put(n, pidOf(i), i));
    for (let i = 0; i < PIDS; i++) {
      const v = await challenge(n, pidOf(i), [regs[i]!]);
      expect(v.verdict).toBe(challengeV1.Verdict.VERDICT_OK);
      expect(v.space).toBe(16_384n);
    }
    expect(n.app.store.openFiles()).toBeLessThanOrEqual(8);
    // pid 1's pieces are not pid 0's
    const other = await challenge(n, pidOf(0), [regs[1]!]);
    expect(other).toMatchObject({ verdict: challengeV1.Verdict.VERDICT_INVALID_PROOF, space: 0n });
    const listed = await call(n.client, n.client.listPieces, {
      user: hexToBytes(user),
      pid: hexToBytes(pidOf(3)),
    });
    expect(listed.pieces.map((p) => bytesToHex(p.pieceId))).toEqual([regs[3]!.pieceId]);
    const http = await n.app.http.inject(`/v1/pieces?user=${user}&pid=${pidOf(3)}`);
    expect(http.json().pieces).toEqual([
      expect.objectContaining({ pid: getAddress(pidOf(3)), pieceId: regs[3]!.pieceId }),
    ]);
    expect(http.json().total).toEqual({ pieces: PIDS, bytes: String(PIDS * 16_384) });
  });

  it('PROVIDER_ADDRESSES: serves the listed pids, refuses others; pieces without a pid count for each', async () => {
    const served = [pidOf(100), pidOf(101)];
    const n = await node({ PROVIDER_ADDRESSES: served.join(','), PROVIDER_ADDRESS: pidOf(102) });
    stops.push(n.stop);
    const shared = await put(n, undefined, 7, 5_000);
    const own = await put(n, served[0], 8);
    expect((await challenge(n, served[0]!, [shared, own])).space).toBe(5_000n + 16_384n);
    expect((await challenge(n, served[1]!, [shared, own])).space).toBe(5_000n);
    expect((await challenge(n, pidOf(102), [shared])).space).toBe(5_000n);
    await expect(challenge(n, pidOf(9), [shared])).rejects.toMatchObject({ code: 'WRONG_PROVIDER' });
    await expect(put(n, pidOf(9), 1)).rejects.toMatchObject({ code: 'WRONG_PROVIDER' });
  });

  it('fault controls per pid: one account offline or slow, the others answer; lose/corrupt by pid', async () => {
    const n = await node({});
    stops.push(n.stop);
    const [a, b, c] = [pidOf(200), pidOf(201), pidOf(202)];
    const ra = await put(n, a, 1);
    const rb = await put(n, b, 2);
    const rc = await put(n, c, 3);
    const set = (payload: object) =>
      n.app.http.inject({ method: 'PUT', url: '/v1/admin/faults', headers: admin, payload });
    expect((await set({ mode: 'offline', pid: a })).json()).toEqual({ mode: 'offline', delayMs: 30_000 });
    expect((await set({ mode: 'slow', delayMs: 500, pid: b })).statusCode).toBe(200);
    await expect(challenge(n, a, [ra])).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(challenge(n, b, [rb], 'b1', 150)).rejects.toMatchObject({ kind: 'deadline_exceeded' });
    expect((await challenge(n, c, [rc])).space).toBe(16_384n);
    expect((await n.app.http.inject(`/v1/faults?pid=${a}`)).json()).toEqual({
      mode: 'offline',
      delayMs: 30_000,
    });
    expect((await n.app.http.inject('/v1/faults')).json()).toEqual({ mode: 'none', delayMs: 30_000 });
    // node-wide offline does not override a pid's own override
    await set({ mode: 'offline' });
    await expect(challenge(n, c, [rc])).rejects.toMatchObject({ kind: 'unavailable' });
    await set({ mode: 'none' });
    const del = await n.app.http.inject({ method: 'DELETE', url: `/v1/admin/faults/${a}`, headers: admin });
    expect(del.json()).toEqual({ mode: 'none', delayMs: 30_000 });
    expect(
      (await n.app.http.inject({ method: 'DELETE', url: `/v1/admin/faults/${a}`, headers: admin }))
        .statusCode,
    ).toBe(404);
    await n.app.http.inject({ method: 'DELETE', url: `/v1/admin/faults/${b}`, headers: admin });
    expect((await challenge(n, a, [ra])).space).toBe(16_384n);

    const corrupt = await n.app.http.inject({
      method: 'POST',
      url: `/v1/admin/pieces/${user}/${rb.pieceId}/corrupt?pid=${b}`,
      headers: admin,
    });
    expect(corrupt.statusCode).toBe(200);
    expect((await challenge(n, b, [rb])).verdict).toBe(challengeV1.Verdict.VERDICT_INVALID_PROOF);
    // without ?pid the piece stored for a pid is not found
    const wrong = await n.app.http.inject({
      method: 'POST',
      url: `/v1/admin/pieces/${user}/${ra.pieceId}/lose`,
      headers: admin,
    });
    expect(wrong.statusCode).toBe(404);
    const lose = await n.app.http.inject({
      method: 'POST',
      url: `/v1/admin/pieces/${user}/${ra.pieceId}/lose?pid=${a}`,
      headers: admin,
    });
    expect(lose.json()).toMatchObject({ pid: getAddress(a), size: '16384' });
    expect((await challenge(n, a, [ra])).space).toBe(0n);
    expect((await challenge(n, c, [rc])).space).toBe(16_384n);
  });
});
