import { ELECTION_QUEUE, queuePrefix, subjects } from '@whitepay/bus';
import { startAnvil, startNats, startRedis, waitFor } from '@whitepay/testkit';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReorgNotice } from '../nats/blocks.js';
import { readStream, type Servers, startApp, testClient } from '../testing/harness.js';
import type { BlockHeader } from './window.js';

describe('chain follower on real anvil, NATS and Redis', () => {
  let srv: Servers;
  const stops: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    const [anvil, nats, redis] = await Promise.all([startAnvil(), startNats(), startRedis()]);
    srv = { anvil, nats, redis };
    stops.push(anvil.stop, nats.stop, redis.stop);
  });
  afterAll(async () => {
    for (const s of stops.reverse()) await s();
  });

  async function jobIds(): Promise<string[]> {
    const conn = new Redis(srv.redis.url, { maxRetriesPerRequest: null });
    const q = new Queue(ELECTION_QUEUE, { connection: conn, prefix: queuePrefix('k1') });
    const jobs = await q.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized']);
    await q.close();
    conn.disconnect();
    return jobs.map((j) => j.id!).sort();
  }

  it('publishes confirmed blocks in order, once, and resumes after a restart without gaps', async () => {
    const tc = testClient(srv.anvil);
    const env = { CHAIN_SUBMITTER_CONFIRMATIONS: '2', CHAIN_SUBMITTER_START_BLOCK: '0' };
    let h = await startApp(srv, env);
    await tc.mine({ blocks: 10 });
    await waitFor('blocks 0..8', async () => h.app.follower.state().lastPublished?.number === 8);
    // Two confirmations: block 9 and 10 stay unpublished.
    await new Promise((r) => setTimeout(r, 300));
    expect(h.app.follower.state()).toMatchObject({ head: 10, lastPublished: { number: 8 } });
    const head = await h.app.http.inject('/v1/head');
    expect(head.json()).toMatchObject({ head: '10', confirmations: 2, lastPublished: { number: '8' } });
    await h.close();

    await tc.mine({ blocks: 5 });
    h = await startApp(srv, env);
    await waitFor('blocks 9..13', async () => h.app.follower.state().lastPublished?.number === 13);
    const msgs = await readStream<BlockHeader>(h.nc, subjects('k1').streams.blocks);
    expect(msgs.map((m) => m.data.number)).toEqual([...Array(14).keys()]);
    for (const m of msgs) {
      const b = await h.publicClient.getBlock({ blockNumber: BigInt(m.data.number) });
      expect(m.data).toEqual({
        number: m.data.number,
        hash: b.hash,
        parentHash: b.parentHash,
        timestamp: Number(b.timestamp),
      });
    }
    expect(await jobIds()).toEqual([...Array(14).keys()].map((n) => `block-${n}`).sort());
    await h.close();
  });

  it('survives a NATS restart and keeps publishing', async () => {
    const tc = testClient(srv.anvil);
    const h = await startApp(srv, { CHAIN_SUBMITTER_CONFIRMATIONS: '2' });
    const before = (await h.publicClient.getBlockNumber()) - 2n;
    await waitFor('caught up', async () => h.app.follower.state().lastPublished?.number === Number(before));
    await srv.nats.restart();
    await tc.mine({ blocks: 4 });
    await waitFor(
      'published after the restart',
      async () => h.app.follower.state().lastPublished?.number === Number(before) + 4,
    );
    const msgs = await readStream<BlockHeader>(h.nc, subjects('k1').streams.blocks);
    const numbers = msgs.map((m) => m.data.number);
    expect(numbers).toEqual([...Array(numbers.length).keys()]);
    await h.close();
  });
});

describe('chain follower through a reorganisation', () => {
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const s of stops.reverse()) await s();
  });

  it('detects it, publishes a notice, re-publishes the canonical blocks, one job per height', async () => {
    const [anvil, nats, redis] = await Promise.all([startAnvil(), startNats(), startRedis()]);
    stops.push(anvil.stop, nats.stop, redis.stop);
    const srv = { anvil, nats, redis };
    const tc = testClient(anvil);
    const h = await startApp(srv, { CHAIN_SUBMITTER_START_BLOCK: '0' });
    stops.push(h.close);
    await tc.mine({ blocks: 3 });
    await waitFor('block 3', async () => h.app.follower.state().lastPublished?.number === 3);
    const snap = await tc.snapshot();
    await tc.mine({ blocks: 3 });
    await waitFor('block 6', async () => h.app.follower.state().lastPublished?.number === 6);
    const old = await readStream<BlockHeader>(h.nc, subjects('k1').streams.blocks);
    await tc.revert({ id: snap });
    // A different chain (other timestamps, so other hashes), one block longer.
    await tc.setNextBlockTimestamp({ timestamp: BigInt(Math.floor(Date.now() / 1000) + 1000) });
    await tc.mine({ blocks: 4 });
    await waitFor('block 7 of the new chain', async () => h.app.follower.state().lastPublished?.number === 7);

    const s = subjects('k1');
    const notices = await readStream<ReorgNotice>(h.nc, s.streams.reorgs);
    expect(notices.length).toBeGreaterThanOrEqual(1);
    const first = notices[0]!.data;
    expect(first.ancestor?.number).toBe(3);
    expect(first.removed.map((r) => r.hash)).toEqual(old.slice(4, 7).map((m) => m.data.hash));

    const msgs = await readStream<BlockHeader>(h.nc, s.streams.blocks);
    expect(msgs.map((m) => m.data.number)).toEqual([0, 1, 2, 3, 4, 5, 6, 4, 5, 6, 7]);
    const republished = msgs.slice(7);
    for (const m of republished) {
      const b = await h.publicClient.getBlock({ blockNumber: BigInt(m.data.number) });
      expect(m.data.hash).toBe(b.hash);
    }
    expect(republished.slice(0, 3).every((m) => m.headers['WhitePay-Reorg'] === '3')).toBe(true);
    expect(republished[0]!.data.parentHash).toBe(old[3]!.data.hash);

    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const q = new Queue(ELECTION_QUEUE, { connection: conn, prefix: queuePrefix('k1') });
    const jobs = await q.getJobs(['waiting', 'completed', 'active', 'delayed', 'prioritized']);
    expect(jobs.map((j) => j.id).sort()).toEqual([...Array(8).keys()].map((n) => `block-${n}`).sort());
    // Still waiting (no coordinator yet): the jobs carry the canonical hash.
    for (const j of jobs) {
      const b = await h.publicClient.getBlock({ blockNumber: BigInt(j.data.number) });
      expect(j.data.hash).toBe(b.hash);
    }
    expect(h.app.follower.state().reorgs).toBeGreaterThanOrEqual(1);
    await q.close();
    conn.disconnect();
  });

  it('detects a reorganisation that happened while it was down', async () => {
    const [anvil, nats, redis] = await Promise.all([startAnvil(), startNats(), startRedis()]);
    stops.push(anvil.stop, nats.stop, redis.stop);
    const srv = { anvil, nats, redis };
    const tc = testClient(anvil);
    let h = await startApp(srv, { CHAIN_SUBMITTER_START_BLOCK: '0' });
    await tc.mine({ blocks: 2 });
    await waitFor('block 2', async () => h.app.follower.state().lastPublished?.number === 2);
    const snap = await tc.snapshot();
    await tc.mine({ blocks: 2 });
    await waitFor('block 4', async () => h.app.follower.state().lastPublished?.number === 4);
    await h.close();
    await tc.revert({ id: snap });
    await tc.setNextBlockTimestamp({ timestamp: BigInt(Math.floor(Date.now() / 1000) + 5000) });
    await tc.mine({ blocks: 3 });
    h = await startApp(srv, {});
    stops.push(h.close);
    await waitFor('block 5 of the new chain', async () => h.app.follower.state().lastPublished?.number === 5);
    const s = subjects('k1');
    const notices = await readStream<ReorgNotice>(h.nc, s.streams.reorgs);
    expect(notices.map((n) => [n.data.ancestor?.number, n.data.depth])).toEqual([[2, 2]]);
    const msgs = await readStream<BlockHeader>(h.nc, s.streams.blocks);
    expect(msgs.map((m) => m.data.number)).toEqual([0, 1, 2, 3, 4, 3, 4, 5]);
    for (const m of msgs.slice(5)) {
      expect(m.data.hash).toBe((await h.publicClient.getBlock({ blockNumber: BigInt(m.data.number) })).hash);
    }
  });
});
