import { createRegistry, type Registry, silentLogger } from '@whitepay/base';
import { BUS_SIG_HEADER, busSigner, busVerifier, connectBus, subjects } from '@whitepay/bus';
import { startAnvil, startNats, waitFor } from '@whitepay/testkit';
import type { NatsConnection } from 'nats';
import { bytesToHex, createPublicClient, http, keccak256, toHex } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
import type { Block } from './nats/messages.js';
import { encodeTask } from './nats/messages.js';
import { challengerSubjects } from './nats/streams.js';
import { MemoryPieceRegistry } from './registry/memory.js';
import { addressOf, publishBlock, readRecords, startProvider } from './testing/harness.js';

const KEY = generatePrivateKey();
const ATTACKER = generatePrivateKey();
const user = addressOf(0xb1);
const pid = addressOf(0x11);

// Issue 20, the blocks part: a forged `<ns>.blocks` header (unsigned, signed by another key, or
// signed but not the node's) is never challenged, and cannot shadow the real block of its number.
describe('challenger refuses forged block headers (real NATS, a real anvil node, a real provider)', () => {
  const stops: Array<() => Promise<void>> = [];
  let nc: NatsConnection;
  let metrics: Registry;
  let chain: ReturnType<typeof createPublicClient>;
  const ns = 'kf1';
  const s = subjects(ns);

  let natsUrl = '';
  let rpcUrl = '';
  let providerAddress = '';
  let pieces: MemoryPieceRegistry;
  beforeAll(async () => {
    const [nats, anvil, provider] = await Promise.all([
      startNats(),
      startAnvil(),
      startProvider({ PROVIDER_ADDRESS: pid }),
    ]);
    stops.push(nats.stop, anvil.stop, provider.stop);
    chain = createPublicClient({ transport: http(anvil.rpcUrl) });
    await chain.request({ method: 'anvil_mine' as never, params: ['0x5'] as never });
    const registry = new MemoryPieceRegistry();
    for (const piece of await provider.put(user, [8192])) registry.add({ user, pid }, piece);
    [natsUrl, rpcUrl, providerAddress, pieces] = [nats.url, anvil.rpcUrl, provider.address, registry];
    nc = await connectBus({ url: nats.url, name: 'forged', log: silentLogger() });
    stops.push(() => nc.close());
    metrics = createRegistry('challenger');
    const app = await createApp({
      config: loadConfig({
        CHALLENGER_KEEPER_ID: '1',
        CHALLENGER_NATS_URL: nats.url,
        CHALLENGER_NATS_NAMESPACE: ns,
        CHALLENGER_RPC_URL: anvil.rpcUrl,
        CHALLENGER_STORE_GRPC_URL: '127.0.0.1:1',
        CHALLENGER_PROVIDERS: `${pid}=${provider.address}`,
        CHALLENGER_DEADLINE_MS: '1000',
        CHALLENGER_ACK_WAIT_MS: '5000',
        CHALLENGER_KEEPER_PRIVATE_KEY: KEY,
      }),
      log: silentLogger(),
      registry: metrics,
      nc,
      pieces: registry,
      futureRetries: 2,
      futureDelayMs: 200,
    });
    await app.start();
    stops.push(() => app.stop());
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  const realBlock = async (n: bigint): Promise<Block> => {
    const b = await chain.getBlock({ blockNumber: n });
    return {
      number: Number(b.number),
      hash: b.hash,
      parentHash: b.parentHash,
      timestamp: Number(b.timestamp),
    };
  };
  const forged = (n: number, tag = ''): Block => ({
    number: n,
    hash: keccak256(toHex(`forged ${n} ${tag}`)),
    parentHash: keccak256(toHex(`forged ${n - 1}`)),
    timestamp: 1_700_000_000 + n,
  });
  const rejected = async (boundary: string, reason: string) => {
    const m = (await metrics.getSingleMetric('whitepay_rejected_messages_total')?.get())?.values ?? [];
    return m.find((v) => v.labels.boundary === boundary && v.labels.reason === reason)?.value ?? 0;
  };
  const records = async () => readRecords(await nc.jetstreamManager(), s.streams.records);

  it('a forged header for head + 25 (unsigned, signed by another key, or signed but unknown to the node) is not challenged', async () => {
    const head = await chain.getBlockNumber();
    const fake = forged(Number(head) + 25);
    const js = nc.jetstream();
    await publishBlock(js, s, fake, null);
    await publishBlock(js, s, forged(fake.number, 'b'), ATTACKER);
    await publishBlock(js, s, forged(fake.number, 'c'), KEY); // a compromised or confused producer
    await waitFor('the three forged headers refused', async () => {
      return (
        (await rejected('nats:blocks', 'BUS_MESSAGE_UNSIGNED')) === 1 &&
        (await rejected('nats:blocks', 'BUS_SIGNER_FOREIGN')) === 1 &&
        (await rejected('nats:blocks', 'BLOCK_UNKNOWN_TO_NODE')) === 1
      );
    });
    expect((await records()).filter((r) => r.record.block === BigInt(fake.number))).toHaveLength(0);
    const info = await (await nc.jetstreamManager()).consumers.info(s.streams.blocks, 'challenger');
    expect([info.num_ack_pending, info.num_pending]).toEqual([0, 0]);
  });

  it('a forged header with a real block number, published first, does not shadow the real block: that one is challenged with its real hash', async () => {
    const head = await chain.getBlockNumber();
    const real = await realBlock(head);
    const js = nc.jetstream();
    await publishBlock(js, s, { ...forged(real.number), parentHash: real.parentHash }, KEY);
    await waitFor(
      'forged header refused',
      async () => (await rejected('nats:blocks', 'BLOCK_NOT_CANONICAL')) === 1,
    );
    await publishBlock(js, s, real, KEY);
    let got: Awaited<ReturnType<typeof records>> = [];
    await waitFor('the real block challenged', async () => {
      got = (await records()).filter((r) => r.record.block === BigInt(real.number));
      return got.length === 1;
    });
    expect(bytesToHex(got[0]!.record.blockHash)).toBe(real.hash);
    expect(got[0]!.record.space).toBe(8192n);
  });

  it('a forged task (unsigned or foreign) on the challenge-task queue is refused and never challenged', async () => {
    const c = challengerSubjects(s);
    const head = await realBlock(await chain.getBlockNumber());
    const before = (await records()).length;
    const subject = c.taskFor(user, pid);
    const task = encodeTask({ block: { ...head, number: head.number - 1 }, user, pid });
    await nc.jetstream().publish(subject, task, { msgID: 'forged-task-1' });
    await nc.jetstream().publish(subject, task, {
      msgID: 'forged-task-2',
      headers: busSigner(ATTACKER).headers(subject, task),
    });
    await waitFor(
      'forged tasks refused',
      async () =>
        (await rejected('nats:tasks', 'BUS_MESSAGE_UNSIGNED')) === 1 &&
        (await rejected('nats:tasks', 'BUS_SIGNER_FOREIGN')) === 1,
    );
    expect((await records()).length).toBe(before);
  });

  it('with the data-plane MAC key: records and tasks carry the MAC (no signature), a task MACed under another key is refused', async () => {
    const MAC = `0x${'66'.repeat(32)}` as const;
    const ns2 = 'kf2';
    const s2 = subjects(ns2);
    const reg = createRegistry('challenger');
    const app = await createApp({
      config: loadConfig({
        CHALLENGER_KEEPER_ID: '1',
        CHALLENGER_NATS_URL: natsUrl,
        CHALLENGER_NATS_NAMESPACE: ns2,
        CHALLENGER_RPC_URL: rpcUrl,
        CHALLENGER_STORE_GRPC_URL: '127.0.0.1:1',
        CHALLENGER_PROVIDERS: `${pid}=${providerAddress}`,
        CHALLENGER_DEADLINE_MS: '1000',
        CHALLENGER_ACK_WAIT_MS: '5000',
        CHALLENGER_KEEPER_PRIVATE_KEY: KEY,
        CHALLENGER_NATS_MAC_KEY: MAC,
      }),
      log: silentLogger(),
      registry: reg,
      nc,
      pieces,
    });
    await app.start();
    stops.push(() => app.stop());
    const real = await realBlock(await chain.getBlockNumber());
    await publishBlock(nc.jetstream(), s2, real, KEY); // the chain-submitter signs (it holds no MAC key)
    const jsm = await nc.jetstreamManager();
    let got: Awaited<ReturnType<typeof readRecords>> = [];
    await waitFor('the record', async () => {
      got = await readRecords(jsm, s2.streams.records);
      return got.length === 1;
    });
    const m = await jsm.streams.getMessage(s2.streams.records, { seq: 1 });
    expect(m.header.get(BUS_SIG_HEADER)).toBe('');
    const stored = { subject: m.subject, data: m.data, headers: m.header };
    expect(busVerifier(busSigner(KEY).address, { macKey: MAC }).verify(stored)).toBe(busSigner(KEY).address);
    const subject = challengerSubjects(s2).taskFor(user, pid);
    const task = encodeTask({ block: real, user, pid });
    await nc.jetstream().publish(subject, task, {
      msgID: 'forged-mac-task',
      headers: busSigner(ATTACKER, { macKey: `0x${'67'.repeat(32)}` }).headers(subject, task),
    });
    await waitFor('forged MAC refused', async () => {
      const v = (await reg.getSingleMetric('whitepay_rejected_messages_total')?.get())?.values ?? [];
      return v.some((x) => x.labels.boundary === 'nats:tasks' && x.labels.reason === 'BUS_MAC_INVALID');
    });
    expect(await readRecords(jsm, s2.streams.records)).toHaveLength(1);
  });
});
