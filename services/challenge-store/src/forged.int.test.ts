import { createRegistry, silentLogger } from '@whitepay/base';
import { busSigner, connectBus, subjects } from '@whitepay/bus';
import type { challengeV1 } from '@whitepay/proto';
import { closePool, createPool, migrate, type Pool } from '@whitepay/store';
import { type NatsServer, type PostgresServer, startNats, startPostgres, waitFor } from '@whitepay/testkit';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { encodeRecord, hexAddr, makeRecord, signingPublisher, TEST_BUS_KEY, testConfig } from './testing.js';

// Issue 20, the records part: anything on `<ns>.records.…` used to be stored as the keeper's own.
describe('challenge-store refuses records its keeper did not sign (real PostgreSQL and NATS)', () => {
  let pg: PostgresServer;
  let nats: NatsServer;
  let pool: Pool;
  const stops: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    [pg, nats] = await Promise.all([startPostgres(), startNats()]);
    pool = createPool({
      url: await pg.createDatabase('forged'),
      log: silentLogger(),
      connectTimeoutMs: 1000,
    });
    await migrate(pool);
  });
  afterAll(async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await closePool(pool);
    await nats?.stop();
    await pg?.stop();
  });

  it('an unsigned proof-less 1 PiB record and a record signed by another key are refused (typed, counted, acked), not stored; signed records still are', async () => {
    const ns = 'k1';
    const s = subjects(ns);
    const nc = await connectBus({ url: nats.url, name: 'forged', log: silentLogger() });
    stops.push(() => nc.close());
    const registry = createRegistry('challenge-store');
    const app = await createApp({
      config: testConfig({ NATS_NAMESPACE: ns }),
      log: silentLogger(),
      registry,
      pool,
      nc,
    });
    await app.start();
    stops.push(() => app.stop());

    const pub = signingPublisher(nc.jetstream());
    const real = makeRecord(1, 100n);
    const subjectOf = (r: challengeV1.ChallengeRecord) => s.recordsFor(hexAddr(r.user), hexAddr(r.pid));
    await pub.publish(subjectOf(real), encodeRecord(real), 'real-100');

    // the attack of the issue: no signature, no proof, 1 PiB, keeper 1
    const pib: challengeV1.ChallengeRecord = { ...makeRecord(1, 101n), space: 2n ** 50n, proof: undefined };
    await pub.publishUnsigned(subjectOf(pib), encodeRecord(pib), 'forged-unsigned');
    // the same signed by a key that is not this keeper's bus key
    const other = signingPublisher(nc.jetstream(), 16, generatePrivateKey());
    await other.publish(subjectOf(pib), encodeRecord(pib), 'forged-foreign');
    // a real signature, replayed onto another account's subject
    const moved = makeRecord(2, 102n);
    const data = encodeRecord(moved);
    await nc.jetstream().publish(subjectOf(moved), data, {
      msgID: 'forged-moved',
      headers: busSigner(TEST_BUS_KEY).headers(subjectOf(real), data),
    });
    await pub.flush();
    await other.flush();
    const later = makeRecord(1, 103n);
    await pub.publish(subjectOf(later), encodeRecord(later), 'real-103');
    await pub.flush();

    await waitFor('consumer drained', async () => {
      const l = await app.ingestor.lag();
      return l.pending === 0 && l.ackPending === 0;
    });
    const rows = await pool.query(
      'SELECT block::text AS block, space::text AS space FROM challenge_records ORDER BY block',
    );
    expect(rows.rows).toEqual([
      { block: '100', space: String(real.space) },
      { block: '103', space: String(later.space) },
    ]);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(
      /whitepay_rejected_messages_total\{boundary="nats:records",reason="BUS_MESSAGE_UNSIGNED"[^}]*\} 1/,
    );
    expect(metrics).toMatch(
      /whitepay_rejected_messages_total\{boundary="nats:records",reason="BUS_SIGNER_FOREIGN"[^}]*\} 2/,
    );
  });

  it('with the data-plane MAC key: MACed records are stored, a MAC under another key is refused (BUS_MAC_INVALID), signatures still count', async () => {
    const ns = 'k2';
    const s = subjects(ns);
    const MAC = `0x${'77'.repeat(32)}` as const;
    const nc = await connectBus({ url: nats.url, name: 'forged-mac', log: silentLogger() });
    stops.push(() => nc.close());
    const registry = createRegistry('challenge-store');
    const app = await createApp({
      config: testConfig({ NATS_NAMESPACE: ns, NATS_MAC_KEY: MAC }),
      log: silentLogger(),
      registry,
      pool,
      nc,
    });
    await app.start();
    stops.push(() => app.stop());
    const subjectOf = (r: challengeV1.ChallengeRecord) => s.recordsFor(hexAddr(r.user), hexAddr(r.pid));
    const maced = signingPublisher(nc.jetstream(), 16, TEST_BUS_KEY, { macKey: MAC });
    const foreign = signingPublisher(nc.jetstream(), 16, TEST_BUS_KEY, { macKey: `0x${'78'.repeat(32)}` });
    const signed = signingPublisher(nc.jetstream());
    const a = makeRecord(5, 200n);
    const b = { ...makeRecord(5, 201n), space: 2n ** 50n };
    const c = makeRecord(5, 202n);
    await maced.publish(subjectOf(a), encodeRecord(a), 'mac-200');
    await foreign.publish(subjectOf(b), encodeRecord(b), 'mac-201');
    await signed.publish(subjectOf(c), encodeRecord(c), 'sig-202');
    await Promise.all([maced.flush(), foreign.flush(), signed.flush()]);
    await waitFor('consumer drained', async () => {
      const l = await app.ingestor.lag();
      return l.pending === 0 && l.ackPending === 0;
    });
    const rows = await pool.query(
      'SELECT block::text AS block FROM challenge_records WHERE block >= 200 ORDER BY block',
    );
    expect(rows.rows).toEqual([{ block: '200' }, { block: '202' }]);
    expect(await registry.metrics()).toMatch(
      /whitepay_rejected_messages_total\{boundary="nats:records",reason="BUS_MAC_INVALID"[^}]*\} 1/,
    );
  });
});
