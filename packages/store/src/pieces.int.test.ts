import { silentLogger } from '@whitepay/base';
import { type PostgresServer, startPostgres } from '@whitepay/testkit';
import type pg from 'pg';
import type { LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex } from './codec.js';
import { closePool, createPool } from './db.js';
import { StoreError } from './errors.js';
import { migrate } from './migrate.js';
import {
  type AddPiecesRequest,
  addPiecesDigest,
  type RemovePiecesRequest,
  removePiecesDigest,
} from './piece-request.js';
import { listAccounts, listPieces, listPiecesOfAccounts, registerPieces, removePieces } from './pieces.js';
import { rand } from './test-fixtures.js';

async function signAdd(a: LocalAccount, request: AddPiecesRequest) {
  return {
    request,
    signature: fromHex('s', await a.signMessage({ message: { raw: addPiecesDigest(request) } })),
  };
}
async function signRemove(a: LocalAccount, request: RemovePiecesRequest) {
  return {
    request,
    signature: fromHex('s', await a.signMessage({ message: { raw: removePiecesDigest(request) } })),
  };
}

describe('pieces registry on a real PostgreSQL', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  beforeAll(async () => {
    server = await startPostgres();
    pool = createPool({ url: await server.createDatabase('pieces'), log: silentLogger() });
    await migrate(pool);
  });
  afterAll(async () => {
    await closePool(pool);
    await server?.stop();
  });

  const user = privateKeyToAccount(generatePrivateKey());
  const provider = privateKeyToAccount(generatePrivateKey());
  const u = fromHex('u', user.address);
  const p = fromHex('p', provider.address);
  const piece = (i: number) => ({
    pieceId: new Uint8Array(32).fill(i),
    size: BigInt(i) * 4096n,
    root: rand(32),
    leafSize: 4096,
  });
  const pieces = [piece(1), piece(2), piece(3)];

  it('accepts a request signed by the user, and lists it', async () => {
    const res = await registerPieces(
      pool,
      await signAdd(user, { user: u, pid: p, nonce: 1n, block: 100n, pieces }),
    );
    expect(res).toEqual({ added: 3, alreadyPresent: 0 });
    const listed = await listPieces(pool, u, p);
    expect(listed.map((x) => [x.pieceId[0], x.size, x.addedBlock, x.removedBlock])).toEqual([
      [1, 4096n, 100n, null],
      [2, 8192n, 100n, null],
      [3, 12288n, 100n, null],
    ]);
    expect(listed[0]!.root).toEqual(pieces[0]!.root);
    expect(await listAccounts(pool)).toEqual([{ user: u, pid: p, pieces: 3, size: 24576n }]);
    // Keyset paging by (user, pid): strictly after the key, at most limit.
    const zero = new Uint8Array(20);
    expect(await listAccounts(pool, { after: { user: zero, pid: zero }, limit: 1 })).toHaveLength(1);
    expect(await listAccounts(pool, { after: { user: u, pid: p } })).toEqual([]);
  });

  it('refuses provider-signed, forged and replayed requests with typed errors', async () => {
    const req = { user: u, pid: p, nonce: 2n, block: 110n, pieces: [piece(9)] };
    const byProvider = await registerPieces(pool, await signAdd(provider, req)).catch((e: unknown) => e);
    expect(byProvider).toBeInstanceOf(StoreError);
    expect(byProvider).toMatchObject({ code: 'PIECE_SIGNER_IS_PROVIDER', kind: 'permission_denied' });
    const stranger = privateKeyToAccount(generatePrivateKey());
    await expect(registerPieces(pool, await signAdd(stranger, req))).rejects.toMatchObject({
      code: 'PIECE_SIGNATURE_INVALID',
      kind: 'unauthenticated',
    });
    // a valid signature over other contents (tampered request)
    const signed = await signAdd(user, req);
    await expect(
      registerPieces(pool, { ...signed, request: { ...req, pieces: [piece(10)] } }),
    ).rejects.toMatchObject({ code: 'PIECE_SIGNATURE_INVALID' });
    // the valid one is accepted once, then it is a replay
    expect(await registerPieces(pool, signed)).toEqual({ added: 1, alreadyPresent: 0 });
    await expect(registerPieces(pool, signed)).rejects.toMatchObject({
      code: 'PIECE_REQUEST_REPLAYED',
      kind: 'conflict',
    });
    expect((await listPieces(pool, u, p)).length).toBe(4);
  });

  it('re-registering a live piece is a no-op, with other contents a conflict (nothing applied)', async () => {
    const same = await signAdd(user, {
      user: u,
      pid: p,
      nonce: 3n,
      block: 120n,
      pieces: [pieces[0]!, piece(4)],
    });
    expect(await registerPieces(pool, same)).toEqual({ added: 1, alreadyPresent: 1 });
    const changed = await signAdd(user, {
      user: u,
      pid: p,
      nonce: 4n,
      block: 130n,
      pieces: [piece(5), { ...pieces[1]!, size: 1n }],
    });
    await expect(registerPieces(pool, changed)).rejects.toMatchObject({ code: 'PIECE_CONFLICT' });
    expect((await listPieces(pool, u, p)).map((x) => x.pieceId[0])).not.toContain(5);
    // the nonce of the refused request was not consumed
    const retry = await signAdd(user, { user: u, pid: p, nonce: 4n, block: 130n, pieces: [piece(5)] });
    expect(await registerPieces(pool, retry)).toEqual({ added: 1, alreadyPresent: 0 });
  });

  it('removal stops a piece counting from its block; it can be registered again later', async () => {
    const rm = await signRemove(user, {
      user: u,
      pid: p,
      nonce: 10n,
      block: 200n,
      pieceIds: [pieces[0]!.pieceId, rand(32)],
    });
    const res = await removePieces(pool, rm);
    expect(res.removed).toBe(1);
    expect(res.notFound).toHaveLength(1);
    await expect(removePieces(pool, rm)).rejects.toMatchObject({ code: 'PIECE_REQUEST_REPLAYED' });
    const byProvider = await signRemove(provider, {
      user: u,
      pid: p,
      nonce: 11n,
      block: 200n,
      pieceIds: [pieces[1]!.pieceId],
    });
    await expect(removePieces(pool, byProvider)).rejects.toMatchObject({ code: 'PIECE_SIGNER_IS_PROVIDER' });
    const ids = async (opts: { atBlock?: bigint; includeRemoved?: boolean }) =>
      (await listPieces(pool, u, p, opts)).map((x) => x.pieceId[0]).sort();
    expect(await ids({ atBlock: 199n })).toEqual([1, 2, 3, 4, 5, 9]);
    expect(await ids({ atBlock: 200n })).toEqual([2, 3, 4, 5, 9]);
    expect(await ids({ atBlock: 99n })).toEqual([]);
    expect(await ids({})).toEqual([2, 3, 4, 5, 9]);
    const again = await signAdd(user, { user: u, pid: p, nonce: 12n, block: 300n, pieces: [pieces[0]!] });
    expect(await registerPieces(pool, again)).toEqual({ added: 1, alreadyPresent: 0 });
    expect(await ids({ atBlock: 250n })).toEqual([2, 3, 4, 5, 9]);
    expect(await ids({ atBlock: 300n })).toEqual([1, 2, 3, 4, 5, 9]);
    expect((await ids({ includeRemoved: true })).length).toBe(7);
  });

  it('lists the pieces counting at a block of many accounts in one query, in request order', async () => {
    const other = privateKeyToAccount(generatePrivateKey());
    const o = fromHex('o', other.address);
    const reg = await signAdd(other, { user: o, pid: p, nonce: 1n, block: 250n, pieces: [piece(7)] });
    await registerPieces(pool, reg);
    const none = rand(20);
    const at = async (b: bigint) =>
      (
        await listPiecesOfAccounts(
          pool,
          [
            { user: o, pid: p },
            { user: none, pid: p },
            { user: u, pid: p },
          ],
          b,
        )
      ).map((ps) => ps.map((x) => x.pieceId[0]).sort());
    expect(await at(249n)).toEqual([[], [], [2, 3, 4, 5, 9]]);
    expect(await at(300n)).toEqual([[7], [], [1, 2, 3, 4, 5, 9]]);
    for (let b = 0n; b <= 320n; b += 40n) {
      const bulk = (await listPiecesOfAccounts(pool, [{ user: u, pid: p }], b))[0]!;
      expect(bulk).toEqual(await listPieces(pool, u, p, { atBlock: b }));
    }
    expect(await listPiecesOfAccounts(pool, [], 1n)).toEqual([]);
    await expect(listPiecesOfAccounts(pool, [{ user: rand(3), pid: p }], 1n)).rejects.toBeInstanceOf(
      StoreError,
    );
  });
});
