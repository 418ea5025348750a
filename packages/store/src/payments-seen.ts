import type pg from 'pg';
import { bytes, checkBytes, checkInt8, checkUint256 } from './codec.js';
import { query } from './db.js';
import { invalidArgument } from './errors.js';

/**
 * `payments_seen`: payments observed on chain, one per (user, pid, ts). The
 * chain-submitter writes them; `te` of the last one is where the next payment
 * starts and up to where records may be compacted.
 */
export interface PaymentSeen {
  user: Uint8Array;
  pid: Uint8Array;
  ts: bigint;
  te: bigint;
  st: bigint;
  amount: bigint;
  tid: Uint8Array;
  txHash: Uint8Array;
  block: bigint;
}

function validate(p: PaymentSeen): void {
  checkBytes('user', p.user, 20);
  checkBytes('pid', p.pid, 20);
  checkInt8('ts', p.ts);
  checkInt8('te', p.te);
  if (p.te <= p.ts) throw invalidArgument('te must be greater than ts');
  checkUint256('st', p.st);
  checkUint256('amount', p.amount);
  checkBytes('tid', p.tid, 32);
  checkBytes('txHash', p.txHash, 32);
  checkInt8('block', p.block);
}

/**
 * Records a payment. Seeing it again is a no-op; seeing it in another
 * transaction or block (a reorg) updates where it landed. Returns true when
 * the row was new or changed.
 */
export async function recordPayment(db: pg.Pool | pg.PoolClient, p: PaymentSeen): Promise<boolean> {
  validate(p);
  const res = await query(
    db,
    'record payment',
    `INSERT INTO payments_seen (user_addr, pid, ts, te, st, amount, tid, tx_hash, block)
     VALUES ($1, $2, $3, $4, $5::numeric, $6::numeric, $7, $8, $9)
     ON CONFLICT (user_addr, pid, ts) DO UPDATE
       SET te = EXCLUDED.te, st = EXCLUDED.st, amount = EXCLUDED.amount, tid = EXCLUDED.tid,
           tx_hash = EXCLUDED.tx_hash, block = EXCLUDED.block, seen_at = now()
       WHERE (payments_seen.tx_hash, payments_seen.block, payments_seen.te, payments_seen.tid)
             IS DISTINCT FROM (EXCLUDED.tx_hash, EXCLUDED.block, EXCLUDED.te, EXCLUDED.tid)`,
    [
      p.user,
      p.pid,
      p.ts.toString(),
      p.te.toString(),
      p.st.toString(),
      p.amount.toString(),
      p.tid,
      p.txHash,
      p.block.toString(),
    ],
  );
  return res.rowCount === 1;
}

interface Row {
  user_addr: Buffer;
  pid: Buffer;
  ts: string;
  te: string;
  st: string;
  amount: string;
  tid: Buffer;
  tx_hash: Buffer;
  block: string;
}

function toPayment(r: Row): PaymentSeen {
  return {
    user: bytes(r.user_addr),
    pid: bytes(r.pid),
    ts: BigInt(r.ts),
    te: BigInt(r.te),
    st: BigInt(r.st),
    amount: BigInt(r.amount),
    tid: bytes(r.tid),
    txHash: bytes(r.tx_hash),
    block: BigInt(r.block),
  };
}

const COLS = 'user_addr, pid, ts, te, st::text AS st, amount::text AS amount, tid, tx_hash, block';

/** The latest payment of (user, pid) (highest te), if any. */
export async function lastPayment(
  db: pg.Pool | pg.PoolClient,
  user: Uint8Array,
  pid: Uint8Array,
): Promise<PaymentSeen | undefined> {
  checkBytes('user', user, 20);
  checkBytes('pid', pid, 20);
  const res = await query<Row>(
    db,
    'last payment',
    `SELECT ${COLS} FROM payments_seen WHERE user_addr = $1 AND pid = $2 ORDER BY te DESC LIMIT 1`,
    [user, pid],
  );
  const r = res.rows[0];
  return r ? toPayment(r) : undefined;
}

/** Payments of (user, pid) ordered by ts. */
export async function listPayments(
  db: pg.Pool | pg.PoolClient,
  user: Uint8Array,
  pid: Uint8Array,
  opts: { limit?: number } = {},
): Promise<PaymentSeen[]> {
  checkBytes('user', user, 20);
  checkBytes('pid', pid, 20);
  const res = await query<Row>(
    db,
    'list payments',
    `SELECT ${COLS} FROM payments_seen WHERE user_addr = $1 AND pid = $2 ORDER BY ts LIMIT $3`,
    [user, pid, opts.limit ?? 1000],
  );
  return res.rows.map(toPayment);
}
