import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { bytes, checkBytes, checkInt8, checkUint32 } from './codec.js';
import { query, withTransaction } from './db.js';
import { invalidArgument, StoreError } from './errors.js';
import { ensurePartitions, type PartitionedTable } from './partitions.js';

/**
 * Shared by the two record tables (`challenge_records`, `peer_records`), which
 * have the same shape: validation, batch insert, range query, last record
 * before a block. Each table's own module exposes its API on top of this.
 */
export interface RecordRow {
  /** 20-byte user address. */
  user: Uint8Array;
  /** 20-byte provider address. */
  pid: Uint8Array;
  keeperId: number;
  block: bigint;
  /** 32 bytes. */
  blockHash: Uint8Array;
  /** Proven space in bytes. */
  space: bigint;
  /** challenge.v1.Verdict (1..5). */
  verdict: number;
  /** Encoded challenge.v1.ChallengeProof; null when there was no answer or once compacted. */
  proof: Uint8Array | null;
  /** Wall-clock ms of the challenge (logs and metrics only). */
  observedAtMs: number;
}

export interface InsertResult {
  inserted: number;
  duplicates: number;
}

export type InsertMethod = 'unnest' | 'copy';

export const VERDICT_MAX = 5;

export function validateRecord(r: RecordRow, i = 0): void {
  try {
    checkBytes('user', r.user, 20);
    checkBytes('pid', r.pid, 20);
    checkUint32('keeperId', r.keeperId);
    checkInt8('block', r.block);
    checkBytes('blockHash', r.blockHash, 32);
    checkInt8('space', r.space);
    if (!Number.isInteger(r.verdict) || r.verdict < 1 || r.verdict > VERDICT_MAX)
      throw invalidArgument('verdict must be 1..5', { field: 'verdict', value: r.verdict });
    if (r.proof !== null && !(r.proof instanceof Uint8Array))
      throw invalidArgument('proof must be bytes or null');
    if (!Number.isFinite(r.observedAtMs) || r.observedAtMs < 0)
      throw invalidArgument('observedAtMs must be a non-negative number', { field: 'observedAtMs' });
  } catch (err) {
    if (err instanceof Error && 'details' in err)
      (err as { details: Record<string, unknown> }).details.index = i;
    throw err;
  }
}

const COLS = 'user_addr, pid, keeper_id, block, block_hash, space, verdict, proof, observed_at';

/**
 * Inserts a batch in one transaction (or inside the caller's, with `client`),
 * idempotently: rows whose (user, pid, block, keeper) exist are skipped and
 * counted as duplicates. Creates the partitions the batch needs first.
 */
export async function insertRows(
  pool: pg.Pool,
  table: PartitionedTable,
  rows: readonly RecordRow[],
  opts: { method?: InsertMethod; extra?: { column: string; type: string; values: readonly unknown[] } } = {},
): Promise<InsertResult> {
  if (rows.length === 0) return { inserted: 0, duplicates: 0 };
  rows.forEach(validateRecord);
  await ensurePartitions(
    pool,
    table,
    rows.map((r) => r.block),
  );
  // COPY pays off from a few dozen rows on (docs/benchmarks.md, "Challenge ingest").
  // The binary COPY encodes an extra column as bytea only; any other type goes through unnest.
  const copyable = !opts.extra || opts.extra.type === 'bytea';
  const method = copyable ? (opts.method ?? (rows.length >= 64 ? 'copy' : 'unnest')) : 'unnest';
  if (method === 'copy') {
    // Straight into the table first: no staging table to write and read back. A stored or
    // repeated key (a redelivery) aborts it — rolled back whole, nothing kept — and the batch
    // goes through the staging table, whose INSERT … ON CONFLICT skips the duplicates.
    const body = encodeCopyBinary(rows, opts.extra);
    try {
      await withTransaction(pool, `insert ${table}`, (c) => copyDirect(c, table, body, opts.extra));
      return { inserted: rows.length, duplicates: 0 };
    } catch (err) {
      if (!(err instanceof StoreError && err.kind === 'conflict')) throw err;
    }
    const inserted = await withTransaction(pool, `insert ${table}`, (c) =>
      insertCopy(c, table, body, opts.extra),
    );
    return { inserted, duplicates: rows.length - inserted };
  }
  const inserted = await withTransaction(pool, `insert ${table}`, (c) =>
    insertUnnest(c, table, rows, opts.extra),
  );
  return { inserted, duplicates: rows.length - inserted };
}

async function insertUnnest(
  c: pg.PoolClient,
  table: PartitionedTable,
  rows: readonly RecordRow[],
  extra?: { column: string; type: string; values: readonly unknown[] },
): Promise<number> {
  const n = rows.length;
  const users = new Array<Uint8Array>(n);
  const pids = new Array<Uint8Array>(n);
  const keepers = new Array<number>(n);
  const blocks = new Array<string>(n);
  const hashes = new Array<Uint8Array>(n);
  const spaces = new Array<string>(n);
  const verdicts = new Array<number>(n);
  const proofs = new Array<Uint8Array | null>(n);
  const observed = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    users[i] = r.user;
    pids[i] = r.pid;
    keepers[i] = r.keeperId;
    blocks[i] = r.block.toString();
    hashes[i] = r.blockHash;
    spaces[i] = r.space.toString();
    verdicts[i] = r.verdict;
    proofs[i] = r.proof;
    observed[i] = r.observedAtMs;
  }
  const extraCol = extra ? `, ${extra.column}` : '';
  const extraParam = extra ? `, $10::${extra.type}[]` : '';
  const res = await c.query(
    `INSERT INTO ${table} (${COLS}${extraCol})
     SELECT u, p, k, b, h, s, v, pr, to_timestamp(o / 1000.0)${extra ? ', x' : ''}
       FROM unnest($1::bytea[], $2::bytea[], $3::int8[], $4::int8[], $5::bytea[], $6::int8[], $7::int2[], $8::bytea[], $9::float8[]${extraParam})
         AS t(u, p, k, b, h, s, v, pr, o${extra ? ', x' : ''})
     ON CONFLICT DO NOTHING`,
    [
      users,
      pids,
      keepers,
      blocks,
      hashes,
      spaces,
      verdicts,
      proofs,
      observed,
      ...(extra ? [extra.values] : []),
    ],
  );
  return res.rowCount ?? 0;
}

/** Connections on which the COPY staging tables exist. */
const stagedOn = new WeakMap<pg.PoolClient, Set<string>>();

const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** 2000-01-01T00:00:00Z, the origin of PostgreSQL's binary timestamps, in Unix ms. */
const PG_EPOCH_MS = 946_684_800_000;

/**
 * The rows in PostgreSQL's binary COPY format (header, one tuple per row,
 * trailer), in one buffer: bytes are copied as they are, integers written
 * big-endian — no hex text to build here or to parse on the server (half
 * the CPU of the text format on both sides, docs/benchmarks.md). Columns
 * in the order of `COLS`, with the tables' types (`observed_at` a
 * timestamptz: µs since 2000-01-01); the extra column, when given, is bytea.
 */
export function encodeCopyBinary(rows: readonly RecordRow[], extra?: { values: readonly unknown[] }): Buffer {
  const fields = extra ? 10 : 9;
  // per tuple: count (2) + 9 lengths (4 each) + fixed payload (20+20+8+8+32+8+2+8)
  let size = COPY_SIGNATURE.length + 8 + 2;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    size += 2 + fields * 4 + 106 + (r.proof?.length ?? 0);
    if (extra) {
      const x = extra.values[i];
      if (x instanceof Uint8Array) size += x.length;
    }
  }
  const buf = Buffer.allocUnsafe(size);
  let o = COPY_SIGNATURE.copy(buf, 0);
  o = buf.writeInt32BE(0, o); // flags
  o = buf.writeInt32BE(0, o); // header extension length
  const bytes = (b: Uint8Array | null): void => {
    if (b === null) {
      o = buf.writeInt32BE(-1, o);
      return;
    }
    o = buf.writeInt32BE(b.length, o);
    buf.set(b, o);
    o += b.length;
  };
  const int8 = (v: bigint): void => {
    o = buf.writeInt32BE(8, o);
    o = buf.writeBigInt64BE(v, o);
  };
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    o = buf.writeInt16BE(fields, o);
    bytes(r.user);
    bytes(r.pid);
    int8(BigInt(r.keeperId));
    int8(r.block);
    bytes(r.blockHash);
    int8(r.space);
    o = buf.writeInt32BE(2, o);
    o = buf.writeInt16BE(r.verdict, o);
    bytes(r.proof);
    o = buf.writeInt32BE(8, o);
    o = buf.writeBigInt64BE(BigInt(Math.round((r.observedAtMs - PG_EPOCH_MS) * 1000)), o);
    if (extra) {
      const x = extra.values[i];
      bytes(x instanceof Uint8Array ? x : null);
    }
  }
  o = buf.writeInt16BE(-1, o);
  return o === size ? buf : buf.subarray(0, o);
}

function copyIn(c: pg.PoolClient, sql: string, body: Buffer): Promise<void> {
  const stream = c.query(copyFrom(sql));
  return pipeline(
    (async function* () {
      yield body;
    })(),
    stream as unknown as Writable,
  );
}

async function copyDirect(
  c: pg.PoolClient,
  table: PartitionedTable,
  body: Buffer,
  extra?: { column: string },
): Promise<void> {
  await copyIn(
    c,
    `COPY ${table} (${COLS}${extra ? `, ${extra.column}` : ''}) FROM STDIN (FORMAT binary)`,
    body,
  );
}

async function insertCopy(
  c: pg.PoolClient,
  table: PartitionedTable,
  body: Buffer,
  extra?: { column: string; type: string },
): Promise<number> {
  const stage = `stage_${table}`;
  const extraCol = extra ? `, ${extra.column}` : '';
  let staged = stagedOn.get(c);
  if (!staged) {
    staged = new Set();
    stagedOn.set(c, staged);
  }
  if (!staged.has(stage)) {
    // Session-local staging table, created once per connection (rows vanish at commit).
    await c.query(
      `CREATE TEMP TABLE IF NOT EXISTS ${stage} (u bytea, p bytea, k int8, b int8, h bytea, s int8, v int2, pr bytea, o timestamptz${extra ? `, x ${extra.type}` : ''}) ON COMMIT DELETE ROWS`,
    );
    staged.add(stage);
  }
  await copyIn(c, `COPY ${stage} FROM STDIN (FORMAT binary)`, body);
  const res = await c.query(
    `INSERT INTO ${table} (${COLS}${extraCol})
     SELECT u, p, k, b, h, s, v, pr, o${extra ? ', x' : ''} FROM ${stage}
     ON CONFLICT DO NOTHING`,
  );
  return res.rowCount ?? 0;
}

export interface StoredRecord extends RecordRow {
  signature?: Uint8Array;
}

export interface RangeQuery {
  user: Uint8Array;
  pid: Uint8Array;
  /** Inclusive. */
  from: bigint;
  /** Exclusive. */
  to: bigint;
  /** Only this keeper's records. */
  keeperId?: number;
  /** Keyset cursor: rows strictly after (block, keeperId). */
  after?: { block: bigint; keeperId: number };
  /** Page size (1..10000, default 1000). */
  limit?: number;
  /** Include proofs (default true). */
  withProofs?: boolean;
}

export interface RangePage<T> {
  records: T[];
  /** Cursor of the next page; absent on the last page. */
  next?: { block: bigint; keeperId: number };
}

interface Row {
  user_addr: Buffer;
  pid: Buffer;
  keeper_id: string;
  block: string;
  block_hash: Buffer;
  space: string;
  verdict: number;
  proof: Buffer | null;
  observed_ms: string;
  signature?: Buffer;
}

function toRecord(r: Row): StoredRecord {
  const out: StoredRecord = {
    user: bytes(r.user_addr),
    pid: bytes(r.pid),
    keeperId: Number(r.keeper_id),
    block: BigInt(r.block),
    blockHash: bytes(r.block_hash),
    space: BigInt(r.space),
    verdict: r.verdict,
    proof: r.proof === null ? null : bytes(r.proof),
    observedAtMs: Number(r.observed_ms),
  };
  if (r.signature) out.signature = bytes(r.signature);
  return out;
}

function selectCols(withProofs: boolean, withSignature: boolean): string {
  return `user_addr, pid, keeper_id, block, block_hash, space, verdict, ${withProofs ? 'proof' : 'NULL::bytea AS proof'},
          (extract(epoch FROM observed_at) * 1000)::int8 AS observed_ms${withSignature ? ', signature' : ''}`;
}

/** Records of (user, pid) with from <= block < to, ordered by (block, keeper), one page at a time. */
export async function queryRange(
  db: pg.Pool | pg.PoolClient,
  table: PartitionedTable,
  q: RangeQuery,
): Promise<RangePage<StoredRecord>> {
  checkBytes('user', q.user, 20);
  checkBytes('pid', q.pid, 20);
  checkInt8('from', q.from);
  checkInt8('to', q.to);
  const limit = q.limit ?? 1000;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    throw invalidArgument('limit must be 1..10000');
  if (q.to <= q.from) return { records: [] };
  const values: unknown[] = [q.user, q.pid, q.from.toString(), q.to.toString()];
  let where = 'user_addr = $1 AND pid = $2 AND block >= $3 AND block < $4';
  if (q.keeperId !== undefined) {
    values.push(checkUint32('keeperId', q.keeperId));
    where += ` AND keeper_id = $${values.length}`;
  }
  if (q.after) {
    values.push(
      checkInt8('after.block', q.after.block).toString(),
      checkUint32('after.keeperId', q.after.keeperId),
    );
    where += ` AND (block, keeper_id) > ($${values.length - 1}, $${values.length})`;
  }
  values.push(limit + 1);
  const res = await query<Row>(
    db,
    `query ${table}`,
    `SELECT ${selectCols(q.withProofs ?? true, table === 'peer_records')} FROM ${table}
      WHERE ${where} ORDER BY block, keeper_id LIMIT $${values.length}`,
    values,
  );
  const records = res.rows.slice(0, limit).map(toRecord);
  const last = records[records.length - 1];
  return res.rows.length > limit && last
    ? { records, next: { block: last.block, keeperId: last.keeperId } }
    : { records };
}

/** The last record of one keeper for (user, pid) strictly before `block`. */
export async function lastBefore(
  db: pg.Pool | pg.PoolClient,
  table: PartitionedTable,
  q: { user: Uint8Array; pid: Uint8Array; keeperId: number; block: bigint; withProofs?: boolean },
): Promise<StoredRecord | undefined> {
  checkBytes('user', q.user, 20);
  checkBytes('pid', q.pid, 20);
  checkUint32('keeperId', q.keeperId);
  checkInt8('block', q.block);
  const res = await query<Row>(
    db,
    `last ${table} before`,
    `SELECT ${selectCols(q.withProofs ?? true, table === 'peer_records')} FROM ${table}
      WHERE user_addr = $1 AND pid = $2 AND block < $3 AND keeper_id = $4
      ORDER BY block DESC, keeper_id DESC LIMIT 1`,
    [q.user, q.pid, q.block.toString(), q.keeperId],
  );
  const r = res.rows[0];
  return r ? toRecord(r) : undefined;
}
