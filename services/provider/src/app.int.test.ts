import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistry, silentLogger } from '@whitepay/base';
import {
  buildChallenge,
  DEFAULT_LEAF_SIZE,
  deriveSeed,
  type RegisteredPiece,
  verifyChallenge,
} from '@whitepay/challenge';
import { challengeV1, providerV1 } from '@whitepay/proto';
import { call, insecure } from '@whitepay/rpc';
import { bytesToHex, getAddress, hexToBytes, keccak256, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type ProviderApp } from './app.js';
import { loadConfig } from './config.js';

const user = '0x1111111111111111111111111111111111111111';
const pid = '0x2222222222222222222222222222222222222222';
const TOKEN = 'provider-admin-token-0123456789';

describe('provider node over real gRPC', () => {
  let app: ProviderApp;
  let client: providerV1.ProviderServiceClient;
  let dir: string;
  const regs: RegisteredPiece[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'provider-'));
    const config = loadConfig({
      PROVIDER_DATA_DIR: dir,
      PROVIDER_GRPC_HOST: '127.0.0.1',
      PROVIDER_GRPC_PORT: '0',
      PROVIDER_ADMIN_TOKEN: TOKEN,
      PROVIDER_ADDRESS: pid,
    });
    app = await createApp({ config, log: silentLogger(), registry: createRegistry('provider') });
    await app.start();
    client = new providerV1.ProviderServiceClient(app.grpcAddress(), insecure());
  });
  afterAll(async () => {
    client?.close();
    await app?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const challenge = async (deadlineMs = 2_000) => {
    const seed = deriveSeed(keccak256(toHex(`b${Math.random()}`)), 1, user, pid);
    const spec = { seed, leavesPerPiece: 2 };
    const res = await call(
      client,
      client.challenge,
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
  };

  it('stores pieces and lists them over gRPC and HTTP', async () => {
    for (const [i, size] of [100_000, 5_000, 1].entries()) {
      const data = new Uint8Array(size).map((_, k) => (k + i) & 255);
      const res = await call(client, client.putPiece, {
        user: hexToBytes(user),
        pieceId: new Uint8Array(),
        data,
        leafSize: 0,
      });
      expect(res.leafSize).toBe(DEFAULT_LEAF_SIZE);
      regs.push({
        pieceId: bytesToHex(res.pieceId),
        size: res.size,
        root: bytesToHex(res.root),
        leafSize: DEFAULT_LEAF_SIZE,
      });
    }
    const list = await call(client, client.listPieces, { user: hexToBytes(user) });
    expect(list.pieces).toHaveLength(3);
    const http = await app.http.inject(`/v1/pieces?user=${user}`);
    expect(http.json().total).toEqual({ pieces: 3, bytes: '105001' });
    expect(http.json().next).toBeUndefined();
    // Paged: one piece a page, every piece once, then no next; a cursor it did not issue is a 400.
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = (
        await app.http.inject(`/v1/pieces?user=${user}&limit=1${cursor ? `&cursor=${cursor}` : ''}`)
      ).json() as { pieces: Array<{ pieceId: string; size: string; user: string }>; next?: string };
      expect(page.pieces.length).toBeLessThanOrEqual(1);
      for (const p of page.pieces) {
        expect(p.size).toMatch(/^[0-9]+$/);
        expect(p.user).toBe(getAddress(p.user));
      }
      seen.push(...page.pieces.map((p) => p.pieceId));
      cursor = page.next;
    } while (cursor);
    expect(new Set(seen)).toEqual(new Set(regs.map((r) => r.pieceId)));
    const badCursor = await app.http.inject(`/v1/pieces?cursor=zzz`);
    expect(badCursor.statusCode).toBe(400);
    expect(badCursor.json()).toMatchObject({ code: 'BAD_CURSOR', kind: 'invalid_argument' });
    const bad = await call(client, client.putPiece, {
      user: new Uint8Array(3),
      pieceId: new Uint8Array(),
      data: new Uint8Array(1),
      leafSize: 0,
    }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'ADDRESS_INVALID', kind: 'invalid_argument' });
  });

  it('answers honest challenges; refuses another pid', async () => {
    const v = await challenge();
    expect(v.verdict).toBe(challengeV1.Verdict.VERDICT_OK);
    expect(v.space).toBe(105_001n);
    const wrong = await call(client, client.challenge, {
      user: hexToBytes(user),
      pid: new Uint8Array(20),
      keeperId: 1,
      block: 1n,
      seed: new Uint8Array(32),
      pieces: [],
    }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'WRONG_PROVIDER' });
  });

  it('fault controls: offline, slow, corrupt, lose — admin only', async () => {
    const admin = { authorization: `Bearer ${TOKEN}` };
    expect(
      (await app.http.inject({ method: 'PUT', url: '/v1/admin/faults', payload: { mode: 'offline' } }))
        .statusCode,
    ).toBe(401);
    await app.http.inject({
      method: 'PUT',
      url: '/v1/admin/faults',
      headers: admin,
      payload: { mode: 'offline' },
    });
    expect(await challenge().catch((e: unknown) => e)).toMatchObject({ kind: 'unavailable' });
    await app.http.inject({
      method: 'PUT',
      url: '/v1/admin/faults',
      headers: admin,
      payload: { mode: 'slow', delayMs: 400 },
    });
    expect(await challenge(100).catch((e: unknown) => e)).toMatchObject({ kind: 'deadline_exceeded' });
    await app.http.inject({
      method: 'PUT',
      url: '/v1/admin/faults',
      headers: admin,
      payload: { mode: 'none' },
    });
    expect((await app.http.inject('/v1/faults')).json()).toEqual({ mode: 'none', delayMs: 400 });

    const corrupt = await app.http.inject({
      method: 'POST',
      url: `/v1/admin/pieces/${user}/${regs[1]!.pieceId}/corrupt`,
      headers: admin,
    });
    expect(corrupt.statusCode).toBe(200);
    const c = await challenge();
    expect(c.verdict).toBe(challengeV1.Verdict.VERDICT_PARTIAL);
    expect(c.space).toBe(100_001n);
    const lose = await app.http.inject({
      method: 'POST',
      url: `/v1/admin/pieces/${user}/${regs[0]!.pieceId}/lose`,
      headers: admin,
    });
    expect(lose.json().size).toBe('100000');
    expect((await challenge()).space).toBe(1n);
    const missing = await app.http.inject({
      method: 'POST',
      url: `/v1/admin/pieces/${user}/${regs[0]!.pieceId}/lose`,
      headers: admin,
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('PIECE_NOT_FOUND');
    const metrics = await app.http.inject('/metrics');
    expect(metrics.body).toMatch(/whitepay_provider_challenges_total\{outcome="offline",keeper="1"[^}]*\} 1/);
    expect((await app.http.inject('/readyz')).statusCode).toBe(200);
    expect((await app.http.inject('/docs/json')).json().paths['/v1/admin/faults']).toBeDefined();
  });
});
