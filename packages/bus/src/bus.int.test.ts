import { silentLogger } from '@whitepay/base';
import { startNats, waitFor } from '@whitepay/testkit';
import { AckPolicy } from 'nats';
import { afterAll, describe, expect, it } from 'vitest';
import { connectBus, ensureStreams, natsReady, subjects, WindowedPublisher } from './index.js';

describe('bus on a real nats-server -js', () => {
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const s of stops.reverse()) await s();
  });

  it('creates streams, publishes with a window, dedups by msgID, survives a restart', async () => {
    const nats = await startNats();
    stops.push(nats.stop);
    const nc = await connectBus({ url: nats.url, name: 'test', log: silentLogger() });
    stops.push(() => nc.close());
    const s = subjects('k1');
    const jsm = await nc.jetstreamManager();
    await ensureStreams(jsm, s);
    await ensureStreams(jsm, s); // idempotent
    const pub = new WindowedPublisher(nc.jetstream(), 64);
    for (let i = 0; i < 500; i++)
      await pub.publish(s.recordsFor('0xAB', '0xCD'), new Uint8Array([i & 255]), `m${i}`);
    await pub.publish(s.recordsFor('0xab', '0xcd'), new Uint8Array([0]), 'm0'); // duplicate id
    await pub.flush();
    expect((await jsm.streams.info(s.streams.records)).state.messages).toBe(500);
    await nats.restart();
    await waitFor('reconnect', async () => {
      await natsReady(nc);
      return true;
    });
    expect((await jsm.streams.info(s.streams.records)).state.messages).toBe(500);
    await jsm.consumers.add(s.streams.records, { durable_name: 'c', ack_policy: AckPolicy.Explicit });
    const consumer = await nc.jetstream().consumers.get(s.streams.records, 'c');
    const batch = await consumer.fetch({ max_messages: 10, expires: 1000 });
    let n = 0;
    for await (const m of batch) {
      m.ack();
      n++;
    }
    expect(n).toBe(10);
    expect(() => subjects('bad ns')).toThrow();
  });
});
