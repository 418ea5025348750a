import { silentLogger } from '@whitepay/base';
import { spaceTime } from '@whitepay/core';
import {
  closePool,
  createPool,
  insertChallengeRecords,
  insertPeerRecords,
  migrate,
  type Pool,
  type RecordRow,
  spaceTimeSql,
  spaceTimeSqlBatch,
} from '@whitepay/store';
import { type PostgresServer, startPostgres } from '@whitepay/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreSpaceTime, mergeMaxPerBlock } from './calculator.js';

/**
 * The SQL engine (`spaceTimeSql`, a window function in PostgreSQL) against
 * THE definition (`spaceTime` of @whitepay/core, fed directly from the
 * generated records, not from the database): random records, intervals and
 * staleness, inserted into a real PostgreSQL, one fresh account per run.
 */

const INT8_MAX = 9_223_372_036_854_775_807n;

let acct = 0;
function account(): { user: Uint8Array; pid: Uint8Array } {
  const n = ++acct;
  const user = new Uint8Array(20);
  new DataView(user.buffer).setUint32(16, n);
  user[0] = 0x55;
  const pid = new Uint8Array(20);
  new DataView(pid.buffer).setUint32(16, n);
  pid[0] = 0x66;
  return { user, pid };
}

function row(
  a: { user: Uint8Array; pid: Uint8Array },
  keeperId: number,
  block: bigint,
  space: bigint,
): RecordRow {
  return {
    ...a,
    keeperId,
    block,
    blockHash: new Uint8Array(32),
    space,
    verdict: space > 0n ? 1 : 4,
    proof: null,
    observedAtMs: 0,
  };
}

/** (block, space) with blocks clustered in a small window (collisions, carries) and some big values. */
const rec = (maxBlock: number) =>
  fc.record({
    block: fc.oneof(
      { weight: 9, arbitrary: fc.bigInt({ min: 0n, max: BigInt(maxBlock) }) },
      { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: BigInt(maxBlock) * 1000n }) },
    ),
    space: fc.oneof(
      { weight: 2, arbitrary: fc.constant(0n) },
      { weight: 7, arbitrary: fc.bigInt({ min: 1n, max: 1n << 40n }) },
      { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: INT8_MAX }) },
    ),
  });

const scenario = fc.record({
  own: fc.array(rec(400), { maxLength: 40 }),
  peers: fc.array(fc.record({ keeperId: fc.integer({ min: 2, max: 4 }), r: rec(400) }), { maxLength: 40 }),
  ts: fc.bigInt({ min: 0n, max: 450n }),
  len: fc.oneof(fc.bigInt({ min: 0n, max: 450n }), fc.bigInt({ min: 0n, max: 1_000_000n })),
  maxStaleness: fc.oneof(
    fc.bigInt({ min: 1n, max: 60n }),
    fc.constant(INT8_MAX),
    fc.bigInt({ min: 1n, max: 1n << 40n }),
  ),
});

/** Unique (block, keeper) as the table keeps them: the first insert of a key wins. */
function dedupe(rows: RecordRow[]): RecordRow[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const k = `${r.block}/${r.keeperId}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

describe('SQL engine == core spaceTime (property, real PostgreSQL)', () => {
  let server: PostgresServer;
  let pool: Pool;
  beforeAll(async () => {
    server = await startPostgres();
    pool = createPool({ url: await server.createDatabase('engines'), log: silentLogger() });
    await migrate(pool);
  });
  afterAll(async () => {
    await closePool(pool);
    await server?.stop();
  });

  /** A fresh account with the scenario's own (keeper 1) and peer records stored. */
  async function insert(s: {
    own: Array<{ block: bigint; space: bigint }>;
    peers: Array<{ keeperId: number; r: { block: bigint; space: bigint } }>;
  }) {
    const a = account();
    const own = dedupe(s.own.map((r) => row(a, 1, r.block, r.space)));
    const peers = dedupe(s.peers.map((p) => row(a, p.keeperId, p.r.block, p.r.space)));
    await insertChallengeRecords(pool, own);
    await insertPeerRecords(
      pool,
      peers.map((p) => ({ ...p, signature: new Uint8Array([1]) })),
      () => ({ ok: true }),
    );
    return { a, own, peers };
  }

  it('own records, peer records and the union agree with core on random data', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { a, own, peers } = await insert(s);
        const ts = s.ts;
        const te = s.ts + s.len;
        const ms = s.maxStaleness;
        const base = { ...a, ts, te, maxStaleness: ms };

        // own: core straight from the generated records (it picks the carry itself)
        const coreOwn = spaceTime({ records: own, ts, te, maxStaleness: ms });
        const sqlOwn = await spaceTimeSql(pool, { ...base, source: 'own', keeperId: 1 });
        expect(sqlOwn.st).toBe(coreOwn);
        expect(sqlOwn.records).toBe(own.filter((r) => r.block >= ts && r.block < te).length);
        // the core engine of the service (rows loaded from the database) as well
        expect((await coreSpaceTime(pool, { ...base, source: 'own', keeperId: 1 })).st).toBe(coreOwn);

        // one peer keeper
        const k2 = peers.filter((p) => p.keeperId === 2);
        const sqlPeer = await spaceTimeSql(pool, { ...base, source: 'peer', keeperId: 2 });
        expect(sqlPeer.st).toBe(spaceTime({ records: k2, ts, te, maxStaleness: ms }));

        // the union: every keeper, max per block (carry included), then core
        const all = [...own, ...peers];
        const coreUnion = spaceTime({
          records: mergeMaxPerBlock(all),
          ts,
          te,
          maxStaleness: ms,
        });
        const sqlUnion = await spaceTimeSql(pool, { ...base, source: 'union' });
        expect(sqlUnion.st).toBe(coreUnion);
        expect((await coreSpaceTime(pool, { ...base, source: 'union' })).st).toBe(coreUnion);
        const before = all.filter((r) => r.block < ts).map((r) => r.block);
        expect(sqlUnion.carryBlock).toBe(before.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)).at(-1));
      }),
      { numRuns: Number(process.env.ST_PROPERTY_RUNS ?? 150) },
    );
  });

  it('a batch (one statement over unnest) equals core for every entry, in order', async () => {
    const batch = fc.record({
      scenarios: fc.array(scenario, { minLength: 1, maxLength: 6 }),
      maxStaleness: scenario.map((s) => s.maxStaleness),
      repeat: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(batch, async (b) => {
        const ms = b.maxStaleness;
        const entries = [];
        const want: { own: bigint; peer: bigint; union: bigint; records: number }[] = [];
        for (const s of b.scenarios) {
          const { a, own, peers } = await insert(s);
          const ts = s.ts;
          const te = s.ts + s.len;
          entries.push({ ...a, ts, te });
          want.push({
            own: spaceTime({ records: own, ts, te, maxStaleness: ms }),
            peer: spaceTime({ records: peers.filter((p) => p.keeperId === 2), ts, te, maxStaleness: ms }),
            union: spaceTime({ records: mergeMaxPerBlock([...own, ...peers]), ts, te, maxStaleness: ms }),
            records: own.filter((r) => r.block >= ts && r.block < te).length,
          });
        }
        // the same account twice in one batch answers twice
        if (b.repeat) {
          entries.push(entries[0]!);
          want.push(want[0]!);
        }
        const own = await spaceTimeSqlBatch(pool, { entries, source: 'own', keeperId: 1, maxStaleness: ms });
        expect(own.map((r) => r.st)).toEqual(want.map((w) => w.own));
        expect(own.map((r) => r.records)).toEqual(want.map((w) => w.records));
        const peer = await spaceTimeSqlBatch(pool, {
          entries,
          source: 'peer',
          keeperId: 2,
          maxStaleness: ms,
        });
        expect(peer.map((r) => r.st)).toEqual(want.map((w) => w.peer));
        const union = await spaceTimeSqlBatch(pool, { entries, source: 'union', maxStaleness: ms });
        expect(union.map((r) => r.st)).toEqual(want.map((w) => w.union));
        // and each result is exactly the single query's, carry block included
        for (const [i, e] of entries.entries())
          expect(union[i]).toEqual(await spaceTimeSql(pool, { ...e, source: 'union', maxStaleness: ms }));
      }),
      { numRuns: Number(process.env.ST_PROPERTY_RUNS ?? 150) / 3 },
    );
  });

  it('exact beyond 64 bits: huge space over a huge interval', async () => {
    const a = account();
    const space = INT8_MAX;
    await insertChallengeRecords(pool, [row(a, 1, 0n, space)]);
    const te = INT8_MAX;
    const res = await spaceTimeSql(pool, {
      ...a,
      ts: 0n,
      te,
      maxStaleness: INT8_MAX,
      source: 'own',
      keeperId: 1,
    });
    expect(res.st).toBe(space * te);
    expect(res.st).toBe(spaceTime({ records: [{ block: 0n, space }], ts: 0n, te, maxStaleness: INT8_MAX }));
  });
});
