import { createRegistry, silentLogger } from '@whitepay/base';
import { connectBus, subjects } from '@whitepay/bus';
import { isDue } from '@whitepay/challenge';
import { challengeV1 } from '@whitepay/proto';
import { type NatsServer, startNats, waitFor } from '@whitepay/testkit';
import { bytesToHex } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
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

// One multi-tenant provider node (any-pid mode) holding a piece of its own for
// each of PIDS provider accounts; the challenger reaches all of them through
// `*=host:port` and challenges each pair once every K blocks.
const K = 4;
const PIDS = 24;
const users = [addressOf(0xa1), addressOf(0xa2)];
const pids = Array.from({ length: PIDS }, (_, i) => addressOf(0x1000 + i));
const pairs = pids.map((pid, i) => ({ user: users[i % 2]!, pid }));

describe('challenge cadence on real NATS against a multi-tenant provider node', () => {
  const stops: Array<() => Promise<void>> = [];
  let nats: NatsServer;
  let provider: TestProvider;
  const registry = new MemoryPieceRegistry();

  beforeAll(async () => {
    nats = await startNats();
    stops.push(nats.stop);
    provider = await startProvider();
    stops.push(provider.stop);
    for (const { user, pid } of pairs) {
      for (const piece of await provider.put(user, [16_384], pid)) registry.add({ user, pid }, piece);
    }
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  async function challenger(ns: string, extra: Record<string, string> = {}) {
    const nc = await connectBus({ url: nats.url, name: `cadence-${ns}`, log: silentLogger() });
    const app = await createApp({
      config: loadConfig({
        CHALLENGER_KEEPER_ID: '1',
        CHALLENGER_NATS_NAMESPACE: ns,
        CHALLENGER_NATS_URL: nats.url,
        CHALLENGER_STORE_GRPC_URL: '127.0.0.1:1',
        CHALLENGER_RPC_URL: 'http://127.0.0.1:1',
        CHALLENGER_KEEPER_PRIVATE_KEY: KEY,
        CHALLENGER_PROVIDERS: `*=${provider.address}`,
        CHALLENGER_CHALLENGE_EVERY: String(K),
        CHALLENGER_DEADLINE_MS: '1000',
        CHALLENGER_ACK_WAIT_MS: '2500',
        ...extra,
      }),
      log: silentLogger(),
      registry: createRegistry('challenger'),
      nc,
      pieces: registry,
      chain: fakeNode(),
    });
    await app.start();
    stops.push(async () => {
      await app.stop();
      await nc.close();
    });
    return { app, nc };
  }

  it('each pair once every K blocks: over K consecutive blocks every pair exactly once, with its own pieces', async () => {
    const ns = 'cad';
    const { app, nc } = await challenger(ns);
    const FIRST = 101;
    const BLOCKS = 2 * K + 1;
    const calls0 = { ...registry.calls };
    for (let n = FIRST; n < FIRST + BLOCKS; n++) await publishBlock(nc.jetstream(), subjects(ns), n, KEY);
    const expected = pairs.flatMap(({ user, pid }) =>
      Array.from({ length: BLOCKS }, (_, i) => FIRST + i)
        .filter((b) => isDue(user, pid, b, K))
        .map((b) => `${b}:${user}:${pid}`),
    );
    const jsm = await nc.jetstreamManager();
    let records: Awaited<ReturnType<typeof readRecords>> = [];
    await waitFor(
      `${expected.length} records`,
      async () => {
        records = await readRecords(jsm, subjects(ns).streams.records);
        return records.length >= expected.length;
      },
      20_000,
    );
    const got = records.map(
      (r) => `${r.record.block}:${bytesToHex(r.record.user)}:${bytesToHex(r.record.pid)}`,
    );
    expect(got.sort()).toEqual(expected.sort());
    for (const r of records) {
      expect(r.record.verdict).toBe(challengeV1.Verdict.VERDICT_OK);
      expect(r.record.space).toBe(16_384n);
    }
    // any K consecutive blocks: every pair exactly once
    for (let start = FIRST; start + K <= FIRST + BLOCKS; start++) {
      const seen = records
        .filter((r) => r.record.block >= BigInt(start) && r.record.block < BigInt(start + K))
        .map((r) => bytesToHex(r.record.pid));
      expect(seen.sort()).toEqual([...pids].sort());
    }
    // a pair's consecutive challenges are exactly K blocks apart
    for (const { pid } of pairs) {
      const blocks = records
        .filter((r) => bytesToHex(r.record.pid) === pid)
        .map((r) => Number(r.record.block))
        .sort((a, b) => a - b);
      for (let i = 1; i < blocks.length; i++) expect(blocks[i]! - blocks[i - 1]!).toBe(K);
    }
    // registry: one ListAccounts and one bulk read per block, never one call per pair
    expect(registry.calls.listAccounts - calls0.listAccounts).toBe(BLOCKS);
    expect(registry.calls.listPiecesBulk - calls0.listPiecesBulk).toBe(BLOCKS);
    expect(registry.calls.listPieces - calls0.listPieces).toBe(0);
    const status = (await app.http.inject('/v1/status')).json();
    expect(status.lastBlock).toMatchObject({ number: String(FIRST + BLOCKS - 1) });
    expect(status.lastBlock.tasks).toBe(
      expected.filter((e) => e.startsWith(`${FIRST + BLOCKS - 1}:`)).length,
    );
  });

  it('without pieces in tasks (CHALLENGER_TASK_PIECES_MAX=0) workers read the registry themselves, same records', async () => {
    const ns = 'cad0';
    const { nc } = await challenger(ns, { CHALLENGER_TASK_PIECES_MAX: '0', CHALLENGER_CHALLENGE_EVERY: '1' });
    const calls0 = { ...registry.calls };
    await publishBlock(nc.jetstream(), subjects(ns), 7, KEY);
    const jsm = await nc.jetstreamManager();
    let records: Awaited<ReturnType<typeof readRecords>> = [];
    await waitFor(
      `${PIDS} records`,
      async () => {
        records = await readRecords(jsm, subjects(ns).streams.records);
        return records.length >= PIDS;
      },
      20_000,
    );
    expect(records.every((r) => r.record.space === 16_384n)).toBe(true);
    expect(registry.calls.listPieces - calls0.listPieces).toBe(PIDS);
    expect(registry.calls.listPiecesBulk - calls0.listPiecesBulk).toBe(0);
  });
});
