import { createRegistry, silentLogger } from '@whitepay/base';
import { cadencePhase, lastDueBefore } from '@whitepay/challenge';
import { spaceTime } from '@whitepay/core';
import { stV1 } from '@whitepay/proto';
import { call, grpc, insecure, listenGrpc, RpcError } from '@whitepay/rpc';
import {
  closePool,
  createPool,
  insertChallengeRecords,
  insertPeerRecords,
  migrate,
  type Pool,
  type RecordRow,
  readOnlyUrl,
  toHex,
} from '@whitepay/store';
import { type PostgresServer, startPostgres } from '@whitepay/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from './app.js';
import { testConfig } from './testing.js';

const user = new Uint8Array(20).fill(0x11);
const pid = new Uint8Array(20).fill(0x22);
const unknownPid = new Uint8Array(20).fill(0x33);

function row(keeperId: number, block: bigint, space: bigint, verdict = 1): RecordRow {
  return {
    user,
    pid,
    keeperId,
    block,
    blockHash: new Uint8Array(32),
    space,
    verdict,
    proof: null,
    observedAtMs: 0,
  };
}

// Own records every 100 blocks from 1000 to 9900, 4 KiB more each time; one timeout at 5000.
const own: RecordRow[] = [];
for (let b = 1000n; b < 10_000n; b += 100n)
  own.push(b === 5000n ? row(1, b, 0n, 4) : row(1, b, 4096n * (b / 100n)));
// Keeper 2 sends records with a larger space on a few blocks; keeper 3 only before 2000.
const peer2 = own.filter((_, i) => i % 3 === 0).map((r) => ({ ...row(2, r.block + 1n, r.space * 2n) }));
const peer3 = [row(3, 1050n, 1n)];
const MAX_STALENESS = 250n;

describe('st-calculator service on a real PostgreSQL', () => {
  let pg: PostgresServer;
  let pool: Pool;
  let readPool: Pool;
  const apps: App[] = [];
  const grpcServers: Array<{ stop(): Promise<void> }> = [];
  let client: stV1.StCalculatorServiceClient;
  let coreClient: stV1.StCalculatorServiceClient;

  /** An st-calculator on the suite's read-only pool with this configuration, served over gRPC. */
  async function serve(env: Record<string, string>) {
    const registry = createRegistry('st-calculator');
    const app = await createApp({ config: testConfig(env), log: silentLogger(), registry, pool: readPool });
    await app.start();
    apps.push(app);
    const server = await listenGrpc(app.registerGrpc, '127.0.0.1', 0);
    grpcServers.push(server);
    return {
      app,
      registry,
      client: new stV1.StCalculatorServiceClient(`127.0.0.1:${server.port}`, insecure()),
    };
  }
  const start = (engine: 'sql' | 'core') =>
    serve({ ENGINE: engine, MAX_STALENESS: String(MAX_STALENESS), GROUP_KEEPERS: '1,2,3,4' });
  let sql: Awaited<ReturnType<typeof start>>;

  beforeAll(async () => {
    pg = await startPostgres();
    const url = await pg.createDatabase('stcalc');
    pool = createPool({ url, log: silentLogger() });
    await migrate(pool);
    await insertChallengeRecords(pool, own);
    await insertPeerRecords(
      pool,
      [...peer2, ...peer3].map((r) => ({ ...r, signature: new Uint8Array([1]) })),
      () => ({ ok: true }),
    );
    await pool.query(
      `INSERT INTO pieces (user_addr, pid, piece_id, size, root, leaf_size, added_block)
       VALUES ($1, $2, $3, 4096, $4, 4096, 0)`,
      [user, pid, new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)],
    );
    // The service reads through read-only sessions, as in production.
    readPool = createPool({ url: readOnlyUrl(url), log: silentLogger() });
    sql = await start('sql');
    client = sql.client;
    coreClient = (await start('core')).client;
  });
  afterAll(async () => {
    client?.close();
    coreClient?.close();
    for (const s of grpcServers) await s.stop();
    for (const a of apps) await a.stop();
    await closePool(readPool);
    await closePool(pool);
    await pg?.stop();
  });

  /** Keeper 2's record of 12001 without a verified proof (a timeout); idempotent. */
  const insertUnverifiedPeerRecord = () =>
    insertPeerRecords(pool, [{ ...row(2, 12_001n, 0n, 4), signature: new Uint8Array([1]) }], () => ({
      ok: true,
    }));
  const expected = (ts: bigint, te: bigint, records: RecordRow[] = own) =>
    spaceTime({ records, ts, te, maxStaleness: MAX_STALENESS });

  it('ComputeSt over gRPC equals core spaceTime over the stored records, with both engines', async () => {
    for (const [ts, te] of [
      [0n, 20_000n],
      [1234n, 5678n],
      [5000n, 5001n],
      [7777n, 7777n],
      [9950n, 10_400n],
    ] as const) {
      for (const c of [client, coreClient]) {
        const res = await call(c, c.computeSt, { account: { user, pid }, ts, te, includePeers: false });
        expect(BigInt(res.st)).toBe(expected(ts, te));
        expect(res.recordsUsed).toBe(own.filter((r) => r.block >= ts && r.block < te).length);
        expect(res.maxStaleness).toBe(MAX_STALENESS);
      }
    }
    const mid = await call(client, client.computeSt, {
      account: { user, pid },
      ts: 1234n,
      te: 5678n,
      includePeers: false,
    });
    expect(mid.carryBlock).toBe(1200n);
    expect(BigInt(mid.st)).toBeGreaterThan(0n);
  });

  it('ComputeStBatch answers every entry as ComputeSt would, in order, with both engines', async () => {
    const intervals = [
      [0n, 20_000n],
      [1234n, 5678n],
      [5000n, 5001n],
      [7777n, 7777n],
      [9950n, 10_400n],
      [1234n, 5678n],
    ] as const;
    for (const includePeers of [false, true]) {
      for (const c of [client, coreClient]) {
        const res = await call(c, c.computeStBatch, {
          entries: intervals.map(([ts, te]) => ({ account: { user, pid }, ts, te })),
          includePeers,
        });
        expect(res.maxStaleness).toBe(MAX_STALENESS);
        expect(res.results).toHaveLength(intervals.length);
        for (const [i, [ts, te]] of intervals.entries()) {
          const one = await call(c, c.computeSt, { account: { user, pid }, ts, te, includePeers });
          expect(res.results[i]).toEqual({
            st: one.st,
            recordsUsed: one.recordsUsed,
            carryBlock: one.carryBlock,
          });
        }
      }
    }
    expect((await call(client, client.computeStBatch, { entries: [], includePeers: false })).results).toEqual(
      [],
    );
    const fetched = await sql.registry.metrics();
    expect(fetched).toMatch(
      /whitepay_st_queries_total\{op="compute_st_batch",outcome="ok",whitepay_service="st-calculator"\} [1-9]/,
    );
    expect(fetched).toMatch(/whitepay_st_batch_entries_count\{whitepay_service="st-calculator"\} [1-9]/);
  });

  it('ComputeStBatch is all or nothing: an unknown account or a bad entry rejects the batch, typed', async () => {
    const good = { account: { user, pid }, ts: 0n, te: 10n };
    const cases: Array<[stV1.ComputeStBatchRequest, grpc.status, string]> = [
      [
        { entries: [good, { ...good, account: { user, pid: unknownPid } }], includePeers: false },
        grpc.status.NOT_FOUND,
        'ST_ACCOUNT_UNKNOWN',
      ],
      [
        { entries: [good, { ...good, ts: 11n }], includePeers: false },
        grpc.status.INVALID_ARGUMENT,
        'ST_INTERVAL_INVALID',
      ],
      [
        { entries: [good, { ...good, account: { user, pid: pid.subarray(1) } }], includePeers: false },
        grpc.status.INVALID_ARGUMENT,
        'ST_ADDRESS_LENGTH',
      ],
      [
        { entries: [good, { ...good, account: undefined }], includePeers: true },
        grpc.status.INVALID_ARGUMENT,
        'ST_ACCOUNT_MISSING',
      ],
      [
        { entries: Array(2_001).fill(good), includePeers: false },
        grpc.status.INVALID_ARGUMENT,
        'ST_BATCH_SIZE',
      ],
    ];
    for (const [req, status, code] of cases) {
      const err = await call(client, client.computeStBatch, req).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect(err).toMatchObject({ status, code });
    }
    const unknown = await call(client, client.computeStBatch, cases[0]![0]).catch((e: RpcError) => e);
    expect((unknown as RpcError).message).toContain(toHex(unknownPid));
    // the batch of 2,000 (the limit) is answered
    const full = await call(client, client.computeStBatch, {
      entries: Array(2_000).fill(good),
      includePeers: false,
    });
    expect(new Set(full.results.map((r) => r.st)).size).toBe(1);
    expect(await sql.registry.metrics()).toMatch(
      /whitepay_st_queries_total\{op="compute_st_batch",outcome="ST_ACCOUNT_UNKNOWN",whitepay_service="st-calculator"\} 2/,
    );
  });

  it('include_peers computes over the union of every keeper (max space per block)', async () => {
    const union = [...own, ...peer2, ...peer3];
    const merged = new Map<bigint, bigint>();
    for (const r of union)
      merged.set(r.block, (merged.get(r.block) ?? 0n) > r.space ? merged.get(r.block)! : r.space);
    const want = spaceTime({
      records: [...merged].map(([block, space]) => ({ block, space })),
      ts: 900n,
      te: 12_000n,
      maxStaleness: MAX_STALENESS,
    });
    for (const c of [client, coreClient]) {
      const res = await call(c, c.computeSt, {
        account: { user, pid },
        ts: 900n,
        te: 12_000n,
        includePeers: true,
      });
      expect(BigInt(res.st)).toBe(want);
      expect(res.recordsUsed).toBe(union.length);
    }
    expect(want).toBeGreaterThan(expected(900n, 12_000n));
  });

  it('AuditGroup reports every keeper, verified counts, st and idle keepers', async () => {
    const res = await call(client, client.auditGroup, {
      account: { user, pid },
      range: { from: 2000n, to: 9000n },
      keeperIds: [7],
    });
    const inRange = (rs: RecordRow[]) => rs.filter((r) => r.block >= 2000n && r.block < 9000n);
    expect(res.keepers).toEqual([
      {
        keeperId: 1,
        own: true,
        records: inRange(own).length,
        verified: inRange(own).length - 1,
        st: String(expected(2000n, 9000n)),
        idle: false,
      },
      {
        keeperId: 2,
        own: false,
        records: inRange(peer2).length,
        verified: inRange(peer2).length,
        st: String(expected(2000n, 9000n, peer2)),
        idle: false,
      },
      // keeper 3 sent records, but none in the interval: idle (its old record is stale by 2000)
      { keeperId: 3, own: false, records: 0, verified: 0, st: '0', idle: true },
      // configured in the group, never heard of
      { keeperId: 4, own: false, records: 0, verified: 0, st: '0', idle: true },
      // asked for in the request
      { keeperId: 7, own: false, records: 0, verified: 0, st: '0', idle: true },
    ]);
  });

  it('refuses bad input with typed errors', async () => {
    const cases: Array<[stV1.ComputeStRequest, number, string]> = [
      [
        { account: { user, pid }, ts: 10n, te: 9n, includePeers: false },
        grpc.status.INVALID_ARGUMENT,
        'ST_INTERVAL_INVALID',
      ],
      [
        { account: { user, pid: unknownPid }, ts: 0n, te: 9n, includePeers: false },
        grpc.status.NOT_FOUND,
        'ST_ACCOUNT_UNKNOWN',
      ],
      [
        { account: { user: user.slice(1), pid }, ts: 0n, te: 9n, includePeers: false },
        grpc.status.INVALID_ARGUMENT,
        'ST_ADDRESS_LENGTH',
      ],
      [
        { account: { user, pid: new Uint8Array(32) }, ts: 0n, te: 9n, includePeers: true },
        grpc.status.INVALID_ARGUMENT,
        'ST_ADDRESS_LENGTH',
      ],
      [
        { account: undefined, ts: 0n, te: 9n, includePeers: false },
        grpc.status.INVALID_ARGUMENT,
        'ST_ACCOUNT_MISSING',
      ],
      [
        { account: { user, pid }, ts: 0n, te: 1n << 63n, includePeers: false },
        grpc.status.INVALID_ARGUMENT,
        'ST_OUT_OF_RANGE',
      ],
    ];
    for (const [req, status, code] of cases) {
      const err = await call(client, client.computeSt, req).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect(err).toMatchObject({ status, code });
    }
    const audit = await call(client, client.auditGroup, {
      account: { user, pid },
      range: undefined,
      keeperIds: [],
    }).catch((e: unknown) => e);
    expect(audit).toMatchObject({ status: grpc.status.INVALID_ARGUMENT, code: 'ST_INTERVAL_INVALID' });
  });

  it('HTTP: st and audit as JSON with decimal strings; typed errors; OpenAPI', async () => {
    const { http } = sql.app;
    const u = toHex(user);
    const p = toHex(pid);
    const st = await http.inject({ method: 'GET', url: `/v1/st/${u}/${p}?ts=1234&te=5678` });
    expect(st.statusCode).toBe(200);
    expect(st.json()).toEqual({
      user: u,
      pid: p,
      ts: '1234',
      te: '5678',
      includePeers: false,
      st: String(expected(1234n, 5678n)),
      recordsUsed: own.filter((r) => r.block >= 1234n && r.block < 5678n).length,
      carryBlock: '1200',
      maxStaleness: '250',
      engine: 'sql',
    });
    const audit = await http.inject({
      method: 'GET',
      url: `/v1/audit/${u}/${p}?from=2000&to=9000&keepers=9`,
    });
    expect(audit.statusCode).toBe(200);
    expect(
      audit.json().keepers.map((k: { keeperId: number; idle: boolean }) => [k.keeperId, k.idle]),
    ).toEqual([
      [1, false],
      [2, false],
      [3, true],
      [4, true],
      [9, true],
    ]);
    const bad = [
      [`/v1/st/${u}/${p}?ts=9&te=8`, 400, 'ST_INTERVAL_INVALID'],
      [`/v1/st/${u}/${toHex(unknownPid)}?ts=0&te=8`, 404, 'ST_ACCOUNT_UNKNOWN'],
      [`/v1/st/0x1234/${p}?ts=0&te=8`, 400, 'ST_ADDRESS_LENGTH'],
      [`/v1/st/${u}/0x123?ts=0&te=8`, 400, 'ST_ADDRESS_LENGTH'],
      [`/v1/st/${u}/${p}?ts=0&te=99999999999999999999`, 400, 'ST_OUT_OF_RANGE'],
      [`/v1/st/${u}/${p}?ts=0`, 400, 'BAD_REQUEST'],
      [`/v1/audit/${u}/${p}?from=5&to=4`, 400, 'ST_INTERVAL_INVALID'],
      [`/v1/audit/${u}/${p}?from=0&to=4&keepers=a`, 400, 'ST_KEEPERS_INVALID'],
    ] as const;
    for (const [url, status, code] of bad) {
      const res = await http.inject({ method: 'GET', url });
      expect([url, res.statusCode, res.json().code]).toEqual([url, status, code]);
    }
    const docs = await http.inject({ method: 'GET', url: '/docs/json' });
    expect(Object.keys(docs.json().paths)).toEqual(
      expect.arrayContaining(['/v1/st/{user}/{pid}', '/v1/audit/{user}/{pid}']),
    );
  });

  it('healthz, readyz (PostgreSQL reachable) and metrics', async () => {
    const { http } = sql.app;
    expect((await http.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await http.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const metrics = (await http.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/whitepay_st_query_seconds_bucket\{[^}]*op="compute_st"[^}]*engine="sql"/);
    expect(metrics).toMatch(/whitepay_st_queries_total\{op="compute_st",outcome="ok"[^}]*\} \d+/);
    expect(metrics).toMatch(
      /whitepay_st_queries_total\{op="compute_st",outcome="ST_ACCOUNT_UNKNOWN"[^}]*\} \d+/,
    );

    // a PostgreSQL that does not answer: not ready, and queries are UNAVAILABLE
    const dead = createPool({
      url: 'postgres://whitepay@127.0.0.1:1/x',
      log: silentLogger(),
      connectTimeoutMs: 500,
    });
    const app = await createApp({
      config: testConfig(),
      log: silentLogger(),
      registry: createRegistry('x'),
      pool: dead,
    });
    try {
      const ready = await app.http.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      const res = await app.http.inject({
        method: 'GET',
        url: `/v1/st/${toHex(user)}/${toHex(pid)}?ts=0&te=1`,
      });
      expect([res.statusCode, res.json().code]).toEqual([503, 'STORE_UNAVAILABLE']);
    } finally {
      await app.stop();
      await closePool(dead);
    }
  });
  // Last, as it adds a record: an own st waits (bounded) for the record due
  // before te, so a measurement still being ingested is not replaced by the
  // carry-over of an older one.
  it('an own st waits for the record due before te to be ingested', async () => {
    const { client: c } = await serve({
      MAX_STALENESS: String(MAX_STALENESS),
      SETTLE_WAIT_MS: '5000',
      CHALLENGE_EVERY: '100',
    });
    // The pair's challenges every 100 blocks fall at its cadence phase (packages/challenge): the last
    // stored record is at 9900; te is one block after the next due block, whose record lands 300 ms later.
    const phase = cadencePhase(toHex(user), toHex(pid), 100);
    const due = lastDueBefore(phase, 10_050n, 100);
    const te = due + 1n;
    const late = row(1, due, 7n * 4096n);
    const answer = call(c, c.computeSt, { account: { user, pid }, ts: 9000n, te, includePeers: false });
    await new Promise((r) => setTimeout(r, 300));
    await insertChallengeRecords(pool, [late]);
    const res = await answer;
    expect(BigInt(res.st)).toBe(expected(9000n, te, [...own, late]));
    expect(BigInt(res.st)).not.toBe(expected(9000n, te));
    // A batch waits once for all its entries: the record due before te + 100 lands later. The first
    // entry's record was due long before its te (2000 blocks back): it is not waited for.
    const later = row(1, due + 100n, 8n * 4096n);
    const started = Date.now();
    const batch = call(c, c.computeStBatch, {
      entries: [
        { account: { user, pid }, ts: 2000n, te: 3000n },
        { account: { user, pid }, ts: 9000n, te: te + 100n },
      ],
      includePeers: false,
    });
    await new Promise((r) => setTimeout(r, 300));
    await insertChallengeRecords(pool, [later]);
    const both = await batch;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(both.results.map((r) => BigInt(r.st))).toEqual([
      expected(2000n, 3000n),
      expected(9000n, te + 100n, [...own, late, later]),
    ]);
    // A record due well before te and missing (the challenger behind) is not waited for: te 30 blocks
    // after the due block, no record there, the answer comes at once.
    const quick = Date.now();
    await call(c, c.computeSt, { account: { user, pid }, ts: 9000n, te: due + 230n, includePeers: false });
    expect(Date.now() - quick).toBeLessThan(2000);
    c.close();
  });

  it("ListVouches: per entry the first verified record of each asked keeper, after the peers' late records (SPEC 3 item 5)", async () => {
    const { client: c } = await serve({
      MAX_STALENESS: String(MAX_STALENESS),
      PEER_SETTLE_WAIT_MS: '5000',
      CHALLENGE_EVERY: '100',
    });
    const refs = async (ts: bigint, te: bigint, keeperIds = [1, 2, 3, 4]) =>
      (await call(c, c.listVouches, { entries: [{ account: { user, pid }, ts, te }], keeperIds })).entries[0]!
        .refs;
    // Self (keeper 1) by its own records, 2 and 3 by their peer records, 4 has none.
    expect(await refs(1000n, 1400n)).toEqual([
      { keeperId: 1, block: 1000n },
      { keeperId: 2, block: 1001n },
      { keeperId: 3, block: 1050n },
    ]);
    // Records without a verified proof (space 0) vouch for nobody: own 5000 timed out, keeper 2's 5001 is empty.
    expect(await refs(5000n, 5100n)).toEqual([]);
    // Keeper 2 challenges [9700, 9900) and its record of [9900, 10000) is still out, but its 9701 is
    // verified: it is vouched for already, nothing is waited for.
    const vouchedAt = Date.now();
    expect(await refs(9700n, 10_000n, [2])).toEqual([{ keeperId: 2, block: 9701n }]);
    expect(Date.now() - vouchedAt).toBeLessThan(2500);
    // In [12000, 12200) keeper 2 has only 12001, without a verified proof, and its record of
    // [12100, 12200) is in flight: the answer waits for it (at most PEER_SETTLE_WAIT_MS), then vouches with it.
    await insertUnverifiedPeerRecord();
    const answer = refs(12_000n, 12_200n, [2]).then((r) => ({ r, at: Date.now() }));
    await new Promise((r) => setTimeout(r, 300));
    const insertedFrom = Date.now(); // the answer cannot come before the record exists
    await insertPeerRecords(pool, [{ ...row(2, 12_150n, 4096n), signature: new Uint8Array([1]) }], () => ({
      ok: true,
    }));
    const { r, at } = await answer;
    expect(r).toEqual([{ keeperId: 2, block: 12_150n }]);
    expect(at).toBeGreaterThanOrEqual(insertedFrom);
    // Typed refusals: more than 128 keepers, a bad entry.
    await expect(
      refs(
        1000n,
        1400n,
        Array.from({ length: 129 }, (_, i) => i),
      ),
    ).rejects.toMatchObject({
      code: 'ST_AUDIT_TOO_MANY_KEEPERS',
    });
    await expect(refs(1400n, 1000n)).rejects.toMatchObject({ code: 'ST_INTERVAL_INVALID' });
    c.close();
  });

  it('bounds the work of one caller: keeper ids, interval length, blocks per call and concurrent calls, typed', async () => {
    const { client: c, registry } = await serve({
      MAX_STALENESS: String(MAX_STALENESS),
      SETTLE_WAIT_MS: '1500',
      CHALLENGE_EVERY: '1',
      MAX_INTERVAL_BLOCKS: '100000',
      MAX_CALL_BLOCKS: '1000000',
      MAX_CONCURRENT_PER_CLIENT: '1',
      MAX_QUEUED_PER_CLIENT: '0',
    });
    const account = { user, pid };
    // The attack of the issue: AuditGroup naming 5,000 keepers is refused before any integral runs.
    await expect(
      call(c, c.auditGroup, {
        account,
        range: { from: 1000n, to: 2000n },
        keeperIds: Array.from({ length: 5000 }, (_, i) => i + 1),
      }),
    ).rejects.toMatchObject({ code: 'ST_AUDIT_TOO_MANY_KEEPERS', kind: 'invalid_argument' });
    await expect(
      call(c, c.computeSt, { account, ts: 0n, te: 200_000n, includePeers: true }),
    ).rejects.toMatchObject({ code: 'ST_INTERVAL_TOO_LONG', kind: 'invalid_argument' });
    // 2,000 whole-range entries: within the entry count, over the blocks a call may cover.
    await expect(
      call(c, c.computeStBatch, {
        entries: Array.from({ length: 2000 }, () => ({ account, ts: 0n, te: 100_000n })),
        includePeers: true,
      }),
    ).rejects.toMatchObject({ code: 'ST_CALL_TOO_LARGE', kind: 'invalid_argument' });
    // One client, one call at a time and none queued: while its query runs (held here by a lock on the
    // records, as a slow query would be), a second call of the same client is refused at once.
    const locker = await pool.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE challenge_records IN ACCESS EXCLUSIVE MODE');
    let running: Promise<unknown>;
    try {
      running = call(c, c.computeSt, { account, ts: 9000n, te: 9500n, includePeers: true });
      await waitUntil(async () => (await lockWaiters(pool)) > 0);
      await expect(
        call(c, c.computeSt, { account, ts: 1000n, te: 2000n, includePeers: true }),
      ).rejects.toMatchObject({ code: 'RPC_BUSY', kind: 'unavailable' });
    } finally {
      await locker.query('COMMIT');
      locker.release();
    }
    await running;
    // Once it is done the client is served again.
    const ok = await call(c, c.computeSt, { account, ts: 1000n, te: 2000n, includePeers: true });
    expect(BigInt(ok.st)).toBeGreaterThan(0n);
    // Every refusal is counted by its code.
    const text = await registry.metrics();
    for (const code of ['ST_AUDIT_TOO_MANY_KEEPERS', 'ST_INTERVAL_TOO_LONG', 'ST_CALL_TOO_LARGE', 'RPC_BUSY'])
      expect(text).toMatch(new RegExp(`whitepay_st_queries_total\\{[^}]*outcome="${code}"[^}]*\\} 1`));
    c.close();
  });
  it("a settle wait holds no query slot and takes at most half of the caller's deadline", async () => {
    const { client: c, registry } = await serve({
      MAX_STALENESS: String(MAX_STALENESS),
      SETTLE_WAIT_MS: '10000',
      PEER_SETTLE_WAIT_MS: '10000',
      CHALLENGE_EVERY: '1',
      MAX_CONCURRENT: '1',
      DB_POOL_SIZE: '1',
      MAX_QUEUED_PER_CLIENT: '1',
    });
    const account = { user, pid };
    // te far past the last record: the record due before it never comes. With a 3 s deadline the
    // wait ends after at most 1.5 s and the st is computed with what is there, inside the deadline.
    const started = Date.now();
    const waiting = call(
      c,
      c.computeStBatch,
      { entries: [{ account, ts: 9000n, te: 20_000n }], includePeers: false },
      { deadlineMs: 3000 },
    ).then((r) => ({ r, ms: Date.now() - started }));
    // Meanwhile the only query slot is free for the others: queries of the same client are served.
    await new Promise((r) => setTimeout(r, 300));
    const union = (
      await call(client, client.computeSt, { account, ts: 1000n, te: 2000n, includePeers: true })
    ).st;
    for (let i = 0; i < 3; i++) {
      const ok = await call(c, c.computeSt, { account, ts: 1000n, te: 2000n, includePeers: true });
      expect(ok.st).toBe(union);
    }
    const { r, ms } = await waiting;
    // The same st as a calculator that does not wait (the suite's default) computes.
    const unwaited = await call(client, client.computeSt, {
      account,
      ts: 9000n,
      te: 20_000n,
      includePeers: false,
    });
    expect(r.results[0]!.st).toBe(unwaited.st);
    expect(ms).toBeGreaterThanOrEqual(1300);
    expect(ms).toBeLessThan(3000);
    // A vouch's wait is bounded the same way: in [12000, 12100) keeper 2 has only 12001, without a
    // verified proof, and nothing in its last block; it stays unvouched.
    await insertUnverifiedPeerRecord();
    const vouched = Date.now();
    const refs = await call(
      c,
      c.listVouches,
      { entries: [{ account, ts: 12_000n, te: 12_100n }], keeperIds: [2] },
      { deadlineMs: 2000 },
    );
    expect(refs.entries[0]!.refs).toEqual([]);
    expect(Date.now() - vouched).toBeGreaterThanOrEqual(800);
    expect(Date.now() - vouched).toBeLessThan(2000);
    const text = await registry.metrics();
    expect(text).toMatch(/whitepay_st_settle_timeouts_total\{[^}]*rule="own"[^}]*bound="deadline"[^}]*\} 1/);
    expect(text).toMatch(/whitepay_st_settle_timeouts_total\{[^}]*rule="peer"[^}]*bound="deadline"[^}]*\} 1/);
    c.close();
  });
});

/** Sessions of the database waiting for a lock. */
async function lockWaiters(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
  );
  return Number(rows[0]!.n);
}

async function waitUntil(done: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
