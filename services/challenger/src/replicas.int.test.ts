import { createRegistry, type Registry, silentLogger } from '@whitepay/base';
import { connectBus, subjects } from '@whitepay/bus';
import { challengeV1 } from '@whitepay/proto';
import { type NatsServer, startNats, waitFor } from '@whitepay/testkit';
import type { NatsConnection } from 'nats';
import { bytesToHex } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
import { challengerSubjects } from './nats/streams.js';
import { MemoryPieceRegistry } from './registry/memory.js';
import {
  addressOf,
  fakeNode,
  publishBlock,
  readRecords,
  startProvider,
  type TestProvider,
} from './testing/harness.js';

const KEY = generatePrivateKey();

const users = [addressOf(0xa1), addressOf(0xa2)];
const pids = [addressOf(1), addressOf(2)];
const PAIRS = users.length * pids.length;

describe('several challenger replicas', () => {
  const stops: Array<() => Promise<void>> = [];
  let nats: NatsServer;
  let provider: TestProvider;
  const registry = new MemoryPieceRegistry();

  beforeAll(async () => {
    nats = await startNats();
    stops.push(nats.stop);
    provider = await startProvider();
    stops.push(provider.stop);
    for (const user of users) {
      for (const pid of pids) {
        for (const piece of await provider.put(user, [8192, 100])) registry.add({ user, pid }, piece);
      }
    }
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  async function replica(ns: string, extra: Record<string, string> = {}) {
    const nc = await connectBus({ url: nats.url, name: `replica-${ns}`, log: silentLogger() });
    const metrics = createRegistry('challenger');
    const app = await createApp({
      config: loadConfig({
        CHALLENGER_KEEPER_ID: '1',
        CHALLENGER_NATS_NAMESPACE: ns,
        CHALLENGER_NATS_URL: nats.url,
        CHALLENGER_STORE_GRPC_URL: '127.0.0.1:1',
        CHALLENGER_RPC_URL: 'http://127.0.0.1:1',
        CHALLENGER_KEEPER_PRIVATE_KEY: KEY,
        CHALLENGER_PROVIDERS: pids.map((p) => `${p}=${provider.address}`).join(','),
        CHALLENGER_DEADLINE_MS: '1000',
        CHALLENGER_ACK_WAIT_MS: '2500',
        CHALLENGER_CONCURRENCY: '4',
        ...extra,
      }),
      log: silentLogger(),
      registry: metrics,
      nc,
      pieces: registry,
      chain: fakeNode(),
    });
    await app.start();
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await app.stop();
      if (!nc.isClosed()) await nc.close();
    };
    stops.push(stop);
    return { app, nc, metrics, stop };
  }

  const counted = async (m: Registry, name: string) =>
    (await m.getSingleMetric(name)!.get()).values.reduce((a, v) => a + v.value, 0);

  async function expectComplete(nc: NatsConnection, ns: string, blocks: number) {
    const s = subjects(ns);
    const jsm = await nc.jetstreamManager();
    let records: Awaited<ReturnType<typeof readRecords>> = [];
    await waitFor(
      `${blocks * PAIRS} records`,
      async () => {
        records = await readRecords(jsm, s.streams.records);
        return records.length >= blocks * PAIRS;
      },
      15_000,
    );
    const keys = records.map(
      (r) => `${r.record.block}:${bytesToHex(r.record.user)}:${bytesToHex(r.record.pid)}`,
    );
    expect(new Set(keys).size).toBe(blocks * PAIRS);
    expect(records.length).toBe(blocks * PAIRS);
    for (const r of records) {
      expect(r.record.verdict).toBe(challengeV1.Verdict.VERDICT_OK);
      expect(r.record.space).toBe(8292n);
    }
    // the work queue is drained
    const tasks = await jsm.streams.info(challengerSubjects(s).streams.tasks);
    await waitFor(
      'tasks acked',
      async () => (await jsm.streams.info(tasks.config.name)).state.messages === 0,
    );
  }

  it('two replicas on the same blocks: every (block, user, pid) record exactly once, no double work', async () => {
    const ns = 'rep';
    const a = await replica(ns);
    const b = await replica(ns);
    const BLOCKS = 15;
    for (let n = 1; n <= BLOCKS; n++) await publishBlock(a.nc.jetstream(), subjects(ns), n, KEY);
    await expectComplete(a.nc, ns, BLOCKS);
    const done = [
      await counted(a.metrics, 'whitepay_challenges_total'),
      await counted(b.metrics, 'whitepay_challenges_total'),
    ];
    expect(done[0]! + done[1]!).toBe(BLOCKS * PAIRS);
    const fanned = [
      await counted(a.metrics, 'whitepay_challenger_blocks_total'),
      await counted(b.metrics, 'whitepay_challenger_blocks_total'),
    ];
    expect(fanned[0]! + fanned[1]!).toBe(BLOCKS);
    await a.stop();
    await b.stop();
  });

  it('a replica killed mid-stream and a new one started: no block’s tasks are lost', async () => {
    const ns = 'crash';
    // Slow answers keep tasks in flight when the replica dies.
    await provider.app.http.inject({
      method: 'PUT',
      url: '/v1/admin/faults',
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
      payload: { mode: 'slow', delayMs: 150 },
    });
    const a = await replica(ns);
    const BLOCKS = 10;
    for (let n = 1; n <= BLOCKS; n++) await publishBlock(a.nc.jetstream(), subjects(ns), n, KEY);
    await waitFor(
      'some records',
      async () => (await counted(a.metrics, 'whitepay_challenges_total')) >= 4,
      10_000,
    );
    // Crash: the connection drops with tasks and possibly a block un-acked.
    await a.nc.close();
    await a.stop();
    const before = await counted(a.metrics, 'whitepay_challenges_total');
    expect(before).toBeLessThan(BLOCKS * PAIRS);
    const b = await replica(ns);
    await expectComplete(b.nc, ns, BLOCKS);
    await provider.app.http.inject({
      method: 'PUT',
      url: '/v1/admin/faults',
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
      payload: { mode: 'none' },
    });
    await b.stop();
  });
});
