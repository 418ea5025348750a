import type pg from 'pg';
import { bytes, checkBytes, checkInt8, toHex } from './codec.js';
import { query, withTransaction } from './db.js';
import { StoreError } from './errors.js';
import {
  type AddPiecesRequest,
  addPiecesDigest,
  OP_ADD,
  OP_REMOVE,
  type RemovePiecesRequest,
  removePiecesDigest,
  verifyUserSignature,
} from './piece-request.js';

/**
 * `pieces` (and `piece_requests`): the registry of the pieces each provider
 * holds for each user. Changes only through a request the user signed
 * (see piece-request.ts); each request's nonce is accepted once.
 */
export interface Piece {
  user: Uint8Array;
  pid: Uint8Array;
  pieceId: Uint8Array;
  size: bigint;
  root: Uint8Array;
  leafSize: number;
  addedBlock: bigint;
  removedBlock: bigint | null;
}

export interface Signed<T> {
  request: T;
  /** 65-byte EIP-191 signature of the request digest by the user. */
  signature: Uint8Array;
}

async function claimNonce(
  c: pg.PoolClient,
  user: Uint8Array,
  nonce: bigint,
  op: number,
  digest: string,
): Promise<void> {
  const r = await c.query(
    `INSERT INTO piece_requests (user_addr, nonce, op, digest) VALUES ($1, $2, $3, decode($4, 'hex'))
     ON CONFLICT DO NOTHING`,
    [user, nonce.toString(), op, digest.slice(2)],
  );
  if (r.rowCount !== 1)
    throw new StoreError('PIECE_REQUEST_REPLAYED', `nonce ${nonce} of this user was already used`, {
      kind: 'conflict',
      details: { user: toHex(user), nonce: nonce.toString() },
    });
}

/**
 * Registers pieces for (user, pid) from a user-signed request. A piece already
 * live with the same size, root and leaf size is left as it is (counted in
 * `alreadyPresent`); with different values it is a conflict and nothing of
 * the request is applied.
 */
export async function registerPieces(
  pool: pg.Pool,
  signed: Signed<AddPiecesRequest>,
): Promise<{ added: number; alreadyPresent: number }> {
  const r = signed.request;
  const digest = addPiecesDigest(r);
  await verifyUserSignature(digest, signed.signature, r.user, r.pid);
  return withTransaction(pool, 'register pieces', async (c) => {
    await claimNonce(c, r.user, r.nonce, OP_ADD, digest);
    const live = await c.query<{ piece_id: Buffer; size: string; root: Buffer; leaf_size: number }>(
      `SELECT piece_id, size, root, leaf_size FROM pieces
        WHERE user_addr = $1 AND pid = $2 AND removed_block IS NULL AND piece_id = ANY($3::bytea[])
        FOR UPDATE`,
      [r.user, r.pid, r.pieces.map((p) => p.pieceId)],
    );
    const existing = new Map(live.rows.map((x) => [x.piece_id.toString('hex'), x]));
    const fresh = r.pieces.filter((p) => {
      const e = existing.get(Buffer.from(p.pieceId).toString('hex'));
      if (!e) return true;
      if (BigInt(e.size) !== p.size || !e.root.equals(Buffer.from(p.root)) || e.leaf_size !== p.leafSize)
        throw new StoreError(
          'PIECE_CONFLICT',
          'a live piece with this id has a different size, root or leaf size',
          {
            kind: 'conflict',
            details: { pieceId: toHex(p.pieceId) },
          },
        );
      return false;
    });
    if (fresh.length > 0)
      await c.query(
        `INSERT INTO pieces (user_addr, pid, piece_id, size, root, leaf_size, added_block)
         SELECT $1, $2, t.id, t.size, t.root, t.leaf, $3
           FROM unnest($4::bytea[], $5::int8[], $6::bytea[], $7::int4[]) AS t(id, size, root, leaf)`,
        [
          r.user,
          r.pid,
          r.block.toString(),
          fresh.map((p) => p.pieceId),
          fresh.map((p) => p.size.toString()),
          fresh.map((p) => p.root),
          fresh.map((p) => p.leafSize),
        ],
      );
    return { added: fresh.length, alreadyPresent: r.pieces.length - fresh.length };
  });
}

/**
 * Removes pieces from a user-signed request: each live piece stops counting
 * at `block` (removed_block = block). Unknown or already removed ids are
 * returned in `notFound`.
 */
export async function removePieces(
  pool: pg.Pool,
  signed: Signed<RemovePiecesRequest>,
): Promise<{ removed: number; notFound: Uint8Array[] }> {
  const r = signed.request;
  const digest = removePiecesDigest(r);
  await verifyUserSignature(digest, signed.signature, r.user, r.pid);
  return withTransaction(pool, 'remove pieces', async (c) => {
    await claimNonce(c, r.user, r.nonce, OP_REMOVE, digest);
    const res = await c.query<{ piece_id: Buffer }>(
      `UPDATE pieces SET removed_block = GREATEST($3::int8, added_block)
        WHERE user_addr = $1 AND pid = $2 AND removed_block IS NULL AND piece_id = ANY($4::bytea[])
        RETURNING piece_id`,
      [r.user, r.pid, r.block.toString(), r.pieceIds],
    );
    const removed = new Set(res.rows.map((x) => x.piece_id.toString('hex')));
    return {
      removed: res.rows.length,
      notFound: r.pieceIds.filter((id) => !removed.has(Buffer.from(id).toString('hex'))),
    };
  });
}

interface PieceRowDb {
  user_addr: Buffer;
  pid: Buffer;
  piece_id: Buffer;
  size: string;
  root: Buffer;
  leaf_size: number;
  added_block: string;
  removed_block: string | null;
}

function toPiece(r: PieceRowDb): Piece {
  return {
    user: bytes(r.user_addr),
    pid: bytes(r.pid),
    pieceId: bytes(r.piece_id),
    size: BigInt(r.size),
    root: bytes(r.root),
    leafSize: r.leaf_size,
    addedBlock: BigInt(r.added_block),
    removedBlock: r.removed_block === null ? null : BigInt(r.removed_block),
  };
}

/**
 * Pieces of (user, pid). With `atBlock`: those counting at that block
 * (added_block <= b < removed_block). Otherwise the live ones, or every row
 * ever registered with `includeRemoved`.
 */
export async function listPieces(
  db: pg.Pool | pg.PoolClient,
  user: Uint8Array,
  pid: Uint8Array,
  opts: { atBlock?: bigint; includeRemoved?: boolean } = {},
): Promise<Piece[]> {
  checkBytes('user', user, 20);
  checkBytes('pid', pid, 20);
  const values: unknown[] = [user, pid];
  let where = 'user_addr = $1 AND pid = $2';
  if (opts.atBlock !== undefined) {
    values.push(checkInt8('atBlock', opts.atBlock).toString());
    where += ' AND added_block <= $3 AND (removed_block IS NULL OR removed_block > $3)';
  } else if (!opts.includeRemoved) where += ' AND removed_block IS NULL';
  const res = await query<PieceRowDb>(
    db,
    'list pieces',
    `SELECT user_addr, pid, piece_id, size, root, leaf_size, added_block, removed_block
       FROM pieces WHERE ${where} ORDER BY added_block, piece_id, id`,
    values,
  );
  return res.rows.map(toPiece);
}

export interface Account {
  user: Uint8Array;
  pid: Uint8Array;
  /** Live pieces. */
  pieces: number;
  /** Total size of the live pieces, bytes. */
  size: bigint;
}

/** Every (user, pid) with at least one live piece, ordered by (user, pid); `after` and `limit` page them by that key. */
export async function listAccounts(
  db: pg.Pool | pg.PoolClient,
  opts: { after?: { user: Uint8Array; pid: Uint8Array }; limit?: number } = {},
): Promise<Account[]> {
  const values: unknown[] = [];
  let where = 'removed_block IS NULL';
  if (opts.after) {
    checkBytes('after.user', opts.after.user, 20);
    checkBytes('after.pid', opts.after.pid, 20);
    values.push(opts.after.user, opts.after.pid);
    where += ' AND (user_addr, pid) > ($1, $2)';
  }
  let limit = '';
  if (opts.limit !== undefined) {
    values.push(opts.limit);
    limit = ` LIMIT $${values.length}`;
  }
  const res = await query<{ user_addr: Buffer; pid: Buffer; n: string; size: string }>(
    db,
    'list accounts',
    `SELECT user_addr, pid, count(*) AS n, sum(size)::text AS size FROM pieces
      WHERE ${where} GROUP BY user_addr, pid ORDER BY user_addr, pid${limit}`,
    values,
  );
  return res.rows.map((r) => ({
    user: bytes(r.user_addr),
    pid: bytes(r.pid),
    pieces: Number(r.n),
    size: BigInt(r.size),
  }));
}

/** Most accounts one `listPiecesOfAccounts` call takes. */
export const MAX_BULK_ACCOUNTS = 10_000;

/**
 * The pieces counting at `atBlock` (added_block <= b < removed_block) of many
 * (user, pid) in one query, grouped per account in request order (an account
 * without pieces gets an empty list). The challenger's fan-out reads a whole
 * block's worth of accounts this way instead of one query per account.
 */
export async function listPiecesOfAccounts(
  db: pg.Pool | pg.PoolClient,
  accounts: ReadonlyArray<{ user: Uint8Array; pid: Uint8Array }>,
  atBlock: bigint,
): Promise<Piece[][]> {
  if (accounts.length > MAX_BULK_ACCOUNTS) {
    throw new StoreError('TOO_MANY_ACCOUNTS', `at most ${MAX_BULK_ACCOUNTS} accounts per call`, {
      kind: 'invalid_argument',
      details: { accounts: accounts.length },
    });
  }
  accounts.forEach((a, i) => {
    checkBytes(`accounts[${i}].user`, a.user, 20);
    checkBytes(`accounts[${i}].pid`, a.pid, 20);
  });
  const out: Piece[][] = accounts.map(() => []);
  if (accounts.length === 0) return out;
  const res = await query<PieceRowDb & { k: number }>(
    db,
    'list pieces of accounts',
    `SELECT a.k::int AS k, p.user_addr, p.pid, p.piece_id, p.size, p.root, p.leaf_size, p.added_block, p.removed_block
       FROM unnest($1::bytea[], $2::bytea[]) WITH ORDINALITY AS a(u, p, k)
       JOIN pieces p ON p.user_addr = a.u AND p.pid = a.p
      WHERE p.added_block <= $3 AND (p.removed_block IS NULL OR p.removed_block > $3)
      ORDER BY a.k, p.added_block, p.piece_id, p.id`,
    [accounts.map((a) => a.user), accounts.map((a) => a.pid), checkInt8('atBlock', atBlock).toString()],
  );
  for (const r of res.rows) out[r.k - 1]!.push(toPiece(r));
  return out;
}
