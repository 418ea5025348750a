import { createRegistry, silentLogger } from '@whitepay/base';
import { connectBus, subjects } from '@whitepay/bus';
import { signRecord } from '@whitepay/challenge';
import { challengeV1, storeV1 } from '@whitepay/proto';
import { call, insecure, listenGrpc } from '@whitepay/rpc';
import { addPiecesDigest, closePool, createPool, fromHex, migrate, type Pool } from '@whitepay/store';
import { type NatsServer, type PostgresServer, startNats, startPostgres, waitFor } from '@whitepay/testkit';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from './app.js';
import { addressOf, encodeRecord, hexAddr, makeRecord, signingPublisher, testConfig } from './testing.js';

async function count(pool: Pool): Promise<{ rows: number; distinct: number }> {
  const r = await pool.query(
    'SELECT count(*)::int AS rows, count(DISTINCT (user_addr, pid, block, keeper_id))::int AS d FROM challenge_records',
  );
  return { rows: r.rows[0].rows, distinct: r.rows[0].d };
}

async function drained(app: App): Promise<void> {
  await waitFor(
    'consumer drained',
    async () => {
      const l = await app.ingestor.lag();
      return l.pending === 0 && l.ackPending === 0;
    },
    120_000,
    100,
  );
}

describe('challenge-store on real PostgreSQL and NATS', () => {
  let pg: PostgresServer;
  let nats: NatsServer;
  let dbn = 0;
  const cleanup: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    [pg, nats] = await Promise.all([startPostgres(), startNats()]);
  });
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    await nats?.stop();
    await pg?.stop();
  });

  async function setup(ns: string, over: Record<string, string> = {}, db?: string) {
    const url = db ?? (await pg.createDatabase(`svc${dbn++}`));
    const log = silentLogger();
    const pool = createPool({ url, log, connectTimeoutMs: 1000 });
    const dbUrl = url;
    await migrate(pool);
    const nc = await connectBus({ url: nats.url, name: ns, log });
    const config = testConfig({ NATS_NAMESPACE: ns, ...over });
    const registry = createRegistry('challenge-store');
    const app = await createApp({ config, log, registry, pool, nc });
    await app.start();
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await app.stop();
      await nc.close();
      await closePool(pool);
    };
    cleanup.push(stop);
    const s = subjects(ns);
    const pub = signingPublisher(nc.jetstream(), 256);
    return { app, pool, nc, s, pub, registry, stop, url: dbUrl };
  }

  it('stores every published record exactly once; duplicates and malformed messages are handled', async () => {
    const { app, pool, s, pub, registry } = await setup('t1');
    const N = 6000;
    let malformed = 0;
    for (let i = 0; i < N; i++) {
      const rec = makeRecord(i % 7, BigInt(1000 + Math.floor(i / 7)));
      await pub.publish(s.recordsFor(hexAddr(rec.user), hexAddr(rec.pid)), encodeRecord(rec), `m${i}`);
      // the same record again under another msg id (a redelivery the stream cannot deduplicate)
      if (i % 5 === 0) await pub.publish(s.recordsFor('x', 'y'), encodeRecord(rec), `dup${i}`);
      if (i % 500 === 0) {
        malformed += 3;
        await pub.publish(s.recordsFor('x', 'y'), new Uint8Array([0xff, 0x01, 0x02]), `bad${i}`);
        await pub.publish(
          s.recordsFor('x', 'y'),
          encodeRecord({ ...rec, blockHash: new Uint8Array(5) }),
          `short${i}`,
        );
        await pub.publish(s.recordsFor('x', 'y'), encodeRecord({ ...rec, keeperId: 99 }), `foreign${i}`);
      }
    }
    await pub.flush();
    await drained(app);
    expect(await count(pool)).toEqual({ rows: N, distinct: N });
    const metrics = await registry.metrics();
    expect(metrics).toMatch(
      /whitepay_rejected_messages_total\{boundary="nats:records",reason="RECORD_MALFORMED"[^}]*\} 12/,
    );
    expect(metrics).toMatch(/reason="RECORD_FIELD_LENGTH"[^}]*\} 12/);
    expect(metrics).toMatch(/reason="RECORD_KEEPER_MISMATCH"[^}]*\} 12/);
    expect(malformed).toBe(36);
    expect(metrics).toMatch(/whitepay_store_ingested_records_total\{result="inserted"[^}]*\} 6000/);
    expect(metrics).toMatch(/whitepay_store_ingested_records_total\{result="duplicate"[^}]*\} 1200/);
    expect(metrics).toContain('whitepay_store_ingest_batch_size_bucket');

    // HTTP: paginated records, bigints as strings; readiness; OpenAPI
    const user = hexAddr(addressOf(3));
    const pid = hexAddr(addressOf(3 + 1_000_000));
    let cursor: string | undefined;
    const blocks: string[] = [];
    do {
      const res = await app.http.inject(
        `/v1/records/${user}/${pid}?from=1010&to=1100&limit=25${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.statusCode).toBe(200);
      const body = res.json() as {
        records: Array<{ block: string; space: string; proof: null }>;
        next?: string;
      };
      for (const r of body.records) {
        expect(typeof r.space).toBe('string');
        expect(r.proof).toBeNull();
        blocks.push(r.block);
      }
      cursor = body.next;
    } while (cursor);
    expect(blocks).toEqual(Array.from({ length: 90 }, (_, i) => String(1010 + i)));
    const badCursor = await app.http.inject(`/v1/records/${user}/${pid}?cursor=zzz`);
    expect(badCursor.statusCode).toBe(400);
    expect(badCursor.json()).toMatchObject({ code: 'BAD_PAGE_TOKEN', kind: 'invalid_argument' });
    expect((await app.http.inject('/v1/records/0x12/0x34')).statusCode).toBe(400);
    expect((await app.http.inject('/readyz')).statusCode).toBe(200);
    const docs = (await app.http.inject('/docs/json')).json() as { paths: Record<string, unknown> };
    expect(Object.keys(docs.paths)).toEqual(
      expect.arrayContaining(['/v1/records/{user}/{pid}', '/v1/pieces/{user}/{pid}', '/v1/accounts']),
    );
  });

  it('pages QueryRecords by bytes: every page under the budget, every record exactly once', async () => {
    const { app, s, pub } = await setup('tbytes', { GRPC_MAX_PAGE_BYTES: String(64 * 1024) });
    for (let b = 0n; b < 60n; b++)
      await pub.publish(
        s.recordsFor('u', 'p'),
        encodeRecord(makeRecord(1, b, { proofBytes: 4096 })),
        `b${b}`,
      );
    await pub.flush();
    await drained(app);
    const grpcServer = await listenGrpc(app.registerGrpc, '127.0.0.1', 0);
    cleanup.push(() => grpcServer.stop(100));
    const client = new storeV1.ChallengeStoreServiceClient(`127.0.0.1:${grpcServer.port}`, insecure());
    cleanup.push(async () => client.close());
    const account = { user: addressOf(1), pid: addressOf(1_000_001) };
    const seen: bigint[] = [];
    const sizes: number[] = [];
    let pageToken = '';
    do {
      const res = await call(client, client.queryRecords, {
        account,
        range: { from: 0n, to: 60n },
        source: storeV1.RecordSource.RECORD_SOURCE_OWN,
        withoutProofs: false,
        pageSize: 1000,
        pageToken,
      });
      sizes.push(res.records.reduce((n, r) => n + challengeV1.ChallengeRecord.encode(r).finish().length, 0));
      for (const r of res.records) seen.push(r.block);
      pageToken = res.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => BigInt(i)));
    expect(sizes.length).toBeGreaterThan(1);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(64 * 1024);
  });

  it('serves queries, the piece registry and peer records over gRPC', async () => {
    const peerKey = generatePrivateKey();
    const peer = privateKeyToAccount(peerKey);
    const { app, s, pub } = await setup('t2', { PEER_KEEPERS: `2=${peer.address}` });
    for (let b = 0n; b < 50n; b++)
      await pub.publish(s.recordsFor('u', 'p'), encodeRecord(makeRecord(1, b * 10n)), `r${b}`);
    await pub.flush();
    await drained(app);
    const grpcServer = await listenGrpc(app.registerGrpc, '127.0.0.1', 0);
    cleanup.push(() => grpcServer.stop(100));
    const client = new storeV1.ChallengeStoreServiceClient(`127.0.0.1:${grpcServer.port}`, insecure());
    cleanup.push(async () => client.close());
    const account = { user: addressOf(1), pid: addressOf(1_000_001) };

    const seen: bigint[] = [];
    let pageToken = '';
    do {
      const res = await call(client, client.queryRecords, {
        account,
        range: { from: 100n, to: 400n },
        source: storeV1.RecordSource.RECORD_SOURCE_OWN,
        withoutProofs: false,
        pageSize: 7,
        pageToken,
      });
      for (const r of res.records) {
        expect(r.proof?.leaves).toHaveLength(1);
        seen.push(r.block);
      }
      pageToken = res.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(100 + i * 10)));
    // A page size beyond the cap is refused, typed (it used to answer a page of everything).
    await expect(
      call(client, client.queryRecords, {
        account,
        range: { from: 0n, to: 1_000n },
        source: storeV1.RecordSource.RECORD_SOURCE_OWN,
        withoutProofs: false,
        pageSize: 2 ** 32 - 1,
        pageToken: '',
      }),
    ).rejects.toMatchObject({ code: 'PAGE_SIZE_TOO_LARGE', kind: 'invalid_argument' });
    const last = await call(client, client.lastRecordBefore, { account, block: 255n, keeperId: 1 });
    expect(last.found).toBe(true);
    expect(last.record?.block).toBe(250n);
    expect((await call(client, client.lastRecordBefore, { account, block: 0n, keeperId: 1 })).found).toBe(
      false,
    );
    await expect(
      call(client, client.queryRecords, {
        account: { user: new Uint8Array(3), pid: account.pid },
        range: { from: 0n, to: 1n },
        source: 0,
        withoutProofs: true,
        pageSize: 0,
        pageToken: '',
      }),
    ).rejects.toMatchObject({ kind: 'invalid_argument' });

    // piece registry: user-signed accepted, provider-signed refused
    const user = privateKeyToAccount(generatePrivateKey());
    const provider = privateKeyToAccount(generatePrivateKey());
    const request = {
      user: fromHex('u', user.address),
      pid: fromHex('p', provider.address),
      nonce: 1n,
      block: 10n,
      pieces: [
        {
          pieceId: new Uint8Array(32).fill(1),
          size: 8192n,
          root: new Uint8Array(32).fill(2),
          leafSize: 4096,
        },
      ],
    };
    const digest = addPiecesDigest(request);
    const reg = (signature: Uint8Array) =>
      call(client, client.registerPieces, {
        account: { user: request.user, pid: request.pid },
        nonce: request.nonce,
        block: request.block,
        pieces: request.pieces,
        signature,
      });
    await expect(
      reg(fromHex('s', await provider.signMessage({ message: { raw: digest } }))),
    ).rejects.toMatchObject({
      code: 'PIECE_SIGNER_IS_PROVIDER',
      kind: 'permission_denied',
    });
    const userSig = fromHex('s', await user.signMessage({ message: { raw: digest } }));
    expect(await reg(userSig)).toEqual({ added: 1, alreadyPresent: 0 });
    await expect(reg(userSig)).rejects.toMatchObject({ code: 'PIECE_REQUEST_REPLAYED', kind: 'conflict' });
    const pieces = await call(client, client.listPieces, {
      account: { user: request.user, pid: request.pid },
      atBlock: 10n,
      includeRemoved: false,
    });
    expect(pieces.pieces.map((p) => [p.spec?.size, p.addedBlock, p.removedBlock])).toEqual([
      [8192n, 10n, undefined],
    ]);
    const accounts = await call(client, client.listAccounts, {});
    expect(
      accounts.accounts.map((a) => [hexAddr(a.account!.user), hexAddr(a.account!.pid), a.pieces, a.size]),
    ).toEqual([[hexAddr(request.user), hexAddr(request.pid), 1, 8192n]]);
    const bulk = await call(client, client.listPiecesBulk, {
      accounts: [
        { user: request.user, pid: request.pid },
        { user: request.pid, pid: request.user },
      ],
      atBlock: 10n,
    });
    expect(bulk.accounts.map((a) => [hexAddr(a.account!.user), a.pieces.map((p) => p.spec?.size)])).toEqual([
      [hexAddr(request.user), [8192n]],
      [hexAddr(request.pid), []],
    ]);
    expect(
      (
        await call(client, client.listPiecesBulk, {
          accounts: [{ user: request.user, pid: request.pid }],
          atBlock: 9n,
        })
      ).accounts[0]!.pieces,
    ).toEqual([]);
    await expect(
      call(client, client.listPiecesBulk, {
        accounts: [{ user: new Uint8Array(3), pid: request.pid }],
        atBlock: 1n,
      }),
    ).rejects.toMatchObject({ kind: 'invalid_argument' });
    const http = (await app.http.inject(`/v1/pieces/${user.address}/${provider.address}`)).json() as {
      pieces: Array<{ size: string }>;
    };
    expect(http.pieces[0]?.size).toBe('8192');
    const accountsPage = (await app.http.inject('/v1/accounts?limit=1')).json() as {
      accounts: Array<{ user: string }>;
      next?: string;
    };
    expect(accountsPage.accounts).toHaveLength(1);
    expect(accountsPage.next).toBeUndefined();
    const badAccounts = await app.http.inject('/v1/accounts?cursor=zzz');
    expect(badAccounts.statusCode).toBe(400);
    expect(badAccounts.json()).toMatchObject({ code: 'BAD_CURSOR', kind: 'invalid_argument' });

    // peer records: a timeout record signed by keeper 2 is accepted; a forged or foreign one is not
    const timeout = (b: bigint, keeperId = 2) => ({
      ...makeRecord(1, b, { keeperId }),
      verdict: challengeV1.Verdict.VERDICT_TIMEOUT,
      space: 0n,
      proof: undefined,
    });
    const good = await signRecord(timeout(5n), peerKey);
    const forged = await signRecord(timeout(6n), generatePrivateKey());
    const notMember = await signRecord(timeout(7n, 3), peerKey);
    const put = await call(client, client.putPeerRecords, {
      records: [good, forged, notMember, { record: undefined, signature: new Uint8Array(65) }],
    });
    expect(put).toEqual({ accepted: 1, duplicates: 0, rejected: 3 });
    expect(await call(client, client.putPeerRecords, { records: [good] })).toEqual({
      accepted: 0,
      duplicates: 1,
      rejected: 0,
    });
    const all = await call(client, client.queryRecords, {
      account,
      range: { from: 0n, to: 30n },
      source: storeV1.RecordSource.RECORD_SOURCE_ALL,
      withoutProofs: true,
      pageSize: 2,
      pageToken: '',
    });
    expect(all.records.map((r) => [r.block, r.keeperId])).toEqual([
      [0n, 1],
      [5n, 2],
    ]);
  });

  it('loses nothing when PostgreSQL restarts under load', async () => {
    const { app, pool, s, pub } = await setup('t3');
    const N = 20_000;
    const publishing = (async () => {
      for (let i = 0; i < N; i++) {
        const rec = makeRecord(i % 3, BigInt(i));
        await pub.publish(s.recordsFor('u', 'p'), encodeRecord(rec), `m${i}`);
      }
      await pub.flush();
    })();
    await waitFor(
      'some rows stored',
      async () => (await count(pool).catch(() => ({ rows: 0 }))).rows > 2000,
      60_000,
      20,
    );
    await pg.restart();
    await publishing;
    await drained(app);
    expect(await count(pool)).toEqual({ rows: N, distinct: N });
  });

  it('pipelined: nothing is acked before its COMMIT; stop drains; a restart stores each record once', async () => {
    const over = { WRITERS: '3', PIPELINE_DEPTH: '3', BATCH_MAX: '200', ACK_WAIT_MS: '2000' };
    const first = await setup('t4', over);
    const N = 6000;
    // A lock held elsewhere stops every writer before COMMIT: the pipeline fills, nothing is acked.
    const blocker = await first.pool.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE challenge_records IN EXCLUSIVE MODE');
    try {
      // every record twice under two msg ids, so batches in flight at once share keys
      for (let i = 0; i < N; i++) {
        const rec = encodeRecord(makeRecord(i % 4, BigInt(i)));
        await first.pub.publish(first.s.recordsFor('u', 'p'), rec, `a${i}`);
        await first.pub.publish(first.s.recordsFor('u', 'p'), rec, `b${i}`);
      }
      await first.pub.flush();
      const full = (3 + 3 + 1) * 200;
      await waitFor(
        'pipeline full',
        async () => (await first.app.ingestor.lag()).ackPending >= full,
        30_000,
        20,
      );
      const held = await first.app.ingestor.lag();
      expect(held.pending + held.ackPending).toBe(2 * N); // not one ack yet
      expect((await count(first.pool)).rows).toBe(0);
    } finally {
      await blocker.query('COMMIT');
      blocker.release();
    }
    await waitFor('some rows stored', async () => (await count(first.pool)).rows > 1000, 30_000, 10);
    await first.stop(); // drains what it holds: every write it started has ended
    const probe = createPool({ url: first.url, log: silentLogger() });
    const atStop = await count(probe);
    await new Promise((r) => setTimeout(r, 500));
    expect(await count(probe)).toEqual(atStop);
    await closePool(probe);
    const second = await setup('t4-again', { ...over, NATS_NAMESPACE: 't4' }, first.url);
    await drained(second.app);
    expect(await count(second.pool)).toEqual({ rows: N, distinct: N });
  });
});
