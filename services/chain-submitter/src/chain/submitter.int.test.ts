import { subjects } from '@whitepay/bus';
import { UpkeepingError, upkeepingAbi } from '@whitepay/contracts';
import { startAnvil, startNats, startRedis, waitFor } from '@whitepay/testkit';
import {
  createWalletClient,
  getAddress,
  type Hex,
  http,
  type PublicClient,
  TransactionReceiptNotFoundError,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  anvilKey,
  type Harness,
  readStream,
  type Servers,
  startApp,
  testClient,
} from '../testing/harness.js';
import {
  deployUpkeeping,
  signedBatch,
  signedPayment,
  type TestKeeper,
  type TestUpkeeping,
} from '../testing/upkeeping.js';
import type { PaymentResult } from './outbox.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

describe('submitter on real anvil with an Upkeeping contract', () => {
  let srv: Servers;
  let u: TestUpkeeping;
  let leader: TestKeeper;
  const stops: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    const [anvil, nats, redis] = await Promise.all([startAnvil(), startNats(), startRedis()]);
    srv = { anvil, nats, redis };
    stops.push(anvil.stop, nats.stop, redis.stop);
    u = await deployUpkeeping(anvil);
    leader = u.keepers[0]!;
  });
  afterAll(async () => {
    for (const s of stops.reverse()) await s();
  });

  const env = (ns: string) => ({
    CHAIN_SUBMITTER_NATS_NAMESPACE: ns,
    CHAIN_SUBMITTER_PRIVATE_KEY: anvilKey(leader.index),
    CHAIN_SUBMITTER_LOCK_TTL_MS: '1000',
    CHAIN_SUBMITTER_FACTORY_ADDRESS: u.factory,
    CHAIN_SUBMITTER_FACTORY_FROM_BLOCK: String(u.factoryBlock),
  });
  const nonce = () => u.public.getTransactionCount({ address: leader.account, blockTag: 'pending' });
  const lastPayment = () =>
    u.public.readContract({
      address: u.upkeeping,
      abi: upkeepingAbi,
      functionName: 'lastPayment',
      args: [u.pid],
    });
  const finalResult = async (h: Harness, tid: Hex) => {
    let found: PaymentResult | undefined;
    await waitFor(`result of ${tid}`, async () => {
      found = (await h.app.outbox.recentResults(100)).find((r) => r.tid === tid);
      return found !== undefined;
    });
    return found!;
  };

  it('rejects a payment that would revert with the decoded error and sends nothing; discovers the contract', async () => {
    const h = await startApp(srv, env('r1'));
    stops.push(h.close);
    const good = await signedPayment(u, leader, u.ts0);
    const bad = { ...good, ts: String(u.ts0 + 1n) }; // not what the keepers signed
    const before = await nonce();

    // Through the NATS request/reply entry the coordinator uses.
    const reply = await h.nc.request(subjects('r1').submit, enc.encode(JSON.stringify(bad)), {
      timeout: 10_000,
    });
    const body = JSON.parse(dec.decode(reply.data));
    expect(body).toMatchObject({
      ok: false,
      error: { code: 'UpkeepingInvalidSignature', kind: 'unauthenticated' },
    });
    // Through the internal API: a typed error.
    const err = await h.app.submitter.submit({ ...good, signers: [0] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpkeepingError);
    expect((err as UpkeepingError).code).toBe('UpkeepingTooFewSigners');
    const invalid = await h.nc.request(subjects('r1').submit, enc.encode('{"upkeeping":"0x12"}'));
    expect(JSON.parse(dec.decode(invalid.data))).toMatchObject({
      ok: false,
      error: { code: 'SUBMIT_INVALID_REQUEST' },
    });

    expect(await nonce()).toBe(before);
    const results = await readStream<PaymentResult>(h.nc, subjects('r1').streams.payments);
    expect(results.map((r) => [r.data.status, r.data.errorCode])).toEqual([
      ['rejected', 'UpkeepingInvalidSignature'],
      ['rejected', 'UpkeepingTooFewSigners'],
    ]);
    const metrics = (await h.app.http.inject('/metrics')).body;
    expect(metrics).toMatch(
      /whitepay_rejected_messages_total\{[^}]*reason="UpkeepingInvalidSignature"[^}]*\} 1/,
    );
    expect(metrics).toMatch(/whitepay_payments_total\{[^}]*status="rejected"[^}]*\} 2/);

    await waitFor('discovery', async () => {
      const res = (await h.app.http.inject('/v1/upkeepings')).json();
      return res.upkeepings.length === 1;
    });
    const disc = (await h.app.http.inject('/v1/upkeepings')).json();
    expect(disc.upkeepings[0]).toMatchObject({
      upkeeping: u.upkeeping,
      user: u.user.account.address,
      serving: true,
      providers: [{ pid: u.pid }],
    });
    expect(disc.upkeepings[0].keepers).toHaveLength(4);
    await h.close();
  });

  it('pays exactly once across a crash between broadcast and receipt', async () => {
    const tc = testClient(srv.anvil);
    const req = await signedPayment(u, leader, u.ts0);
    await tc.setAutomine(false);
    const before = await nonce();
    const crash = async () => {
      throw new Error('simulated crash right after broadcast');
    };
    const a = await startApp(srv, env('x1'), { replicaId: 'A', afterBroadcast: crash });
    const queued = await a.app.submitter.submit(req);
    expect(queued).toMatchObject({ status: 'queued', duplicate: false });
    await waitFor('broadcast', async () => (await a.app.outbox.get(queued.tid))?.state === 'sent');
    const sent = (await a.app.outbox.get(queued.tid))!;
    expect(sent.txs).toHaveLength(1);
    // "Crash": stop without releasing the lock; the transaction sits in the mempool, no receipt stored.
    await a.close({ release: false });
    expect(await u.public.getTransaction({ hash: sent.txs[0]!.hash })).toMatchObject({ nonce: before });

    const b = await startApp(srv, env('x1'), { replicaId: 'B' });
    stops.push(b.close);
    await waitFor('B takes the lock after the TTL', async () => b.app.submitter.isHolder());
    // The same request again is recognised, not queued twice.
    expect(await b.app.submitter.submit(req)).toMatchObject({ tid: queued.tid, duplicate: true });
    await tc.mine({ blocks: 1 });
    const result = await finalResult(b, queued.tid);
    expect(result).toMatchObject({ status: 'confirmed', txHash: sent.txs[0]!.hash, errorCode: null });
    expect(BigInt(result.amount!)).toBe(BigInt(req.st));
    await tc.setAutomine(true);
    await tc.mine({ blocks: 2 });
    await new Promise((r) => setTimeout(r, 300));
    expect(await nonce()).toBe(before + 1);
    const block = await u.public.getBlock({ blockNumber: BigInt(result.block!) });
    expect(block.transactions).toEqual([sent.txs[0]!.hash]);
    expect((await lastPayment()).tid).toBe(queued.tid);
    const published = await readStream<PaymentResult>(b.nc, subjects('x1').streams.payments);
    expect(published.filter((m) => m.data.tid === queued.tid).map((m) => m.data.status)).toEqual([
      'confirmed',
    ]);
    expect(await b.app.submitter.submit(req)).toMatchObject({ status: 'confirmed', duplicate: true });
    expect((await b.app.http.inject('/v1/outbox')).json()).toMatchObject({ holder: true, pending: [] });
    expect((await b.app.http.inject('/v1/payments?limit=5')).json().payments[0]).toMatchObject({
      tid: queued.tid,
      status: 'confirmed',
    });
    await b.close();
  });

  it('with two replicas only the lock holder sends; the other takes over when it stops', async () => {
    const a = await startApp(srv, env('x2'), { replicaId: 'A' });
    const b = await startApp(srv, env('x2'), { replicaId: 'B' });
    stops.push(a.close, b.close);
    await waitFor('one holder', async () => a.app.submitter.isHolder() !== b.app.submitter.isHolder());
    const [holder, standby] = a.app.submitter.isHolder() ? [a, b] : [b, a];
    const before = await nonce();

    const ts1 = (await lastPayment()).te;
    const req1 = await signedPayment(u, leader, ts1);
    const reply = await holder.nc.request(subjects('x2').submit, enc.encode(JSON.stringify(req1)), {
      timeout: 10_000,
    });
    const { result: r1 } = JSON.parse(dec.decode(reply.data)) as { result: { tid: Hex } };
    expect((await finalResult(holder, r1.tid)).status).toBe('confirmed');
    expect(standby.app.submitter.isHolder()).toBe(false);
    expect(await standby.app.metrics.txSent.get()).toMatchObject({ values: [] });
    expect(await nonce()).toBe(before + 1);

    await holder.close({ release: false });
    const stoppedAt = Date.now();
    await waitFor('standby takes over', async () => standby.app.submitter.isHolder());
    expect(Date.now() - stoppedAt).toBeGreaterThan(300); // waited for the TTL

    const req2 = await signedPayment(u, leader, BigInt(req1.te));
    const r2 = await standby.app.submitter.submit(req2);
    const res2 = await finalResult(standby, r2.tid);
    expect(res2.status).toBe('confirmed');
    expect(await nonce()).toBe(before + 2);
    expect((await lastPayment()).tid).toBe(r2.tid);
  });

  it('replaces a stuck transaction with the same nonce and higher fees', async () => {
    const tc = testClient(srv.anvil);
    const h = await startApp(srv, { ...env('x3'), CHAIN_SUBMITTER_BUMP_AFTER_BLOCKS: '2' });
    stops.push(h.close);
    await waitFor('holder', async () => h.app.submitter.isHolder());
    const before = await nonce();
    const req = await signedPayment(u, leader, (await lastPayment()).te);
    await tc.setAutomine(false);
    const r = await h.app.submitter.submit(req);
    await waitFor('broadcast', async () => (await h.app.outbox.get(r.tid))?.state === 'sent');
    const first = (await h.app.outbox.get(r.tid))!.txs[0]!;
    // Blocks whose base fee is far above the transaction's max fee: it stays in the mempool.
    const high = BigInt(first.maxFeePerGas) * 50n;
    for (let i = 0; i < 3; i++) {
      await tc.setNextBlockBaseFeePerGas({ baseFeePerGas: high });
      await tc.mine({ blocks: 1 });
    }
    await waitFor('bumped', async () => ((await h.app.outbox.get(r.tid))?.txs.length ?? 0) >= 2);
    const entry = (await h.app.outbox.get(r.tid))!;
    const second = entry.txs[1]!;
    expect(BigInt(second.maxFeePerGas)).toBeGreaterThanOrEqual((BigInt(first.maxFeePerGas) * 1125n) / 1000n);
    expect(BigInt(second.maxPriorityFeePerGas)).toBeGreaterThanOrEqual(
      (BigInt(first.maxPriorityFeePerGas) * 1125n) / 1000n,
    );
    const last = entry.txs.at(-1)!;
    await tc.setAutomine(true);
    await tc.mine({ blocks: 1 });
    const result = await finalResult(h, r.tid);
    expect(result.status).toBe('confirmed');
    expect(entry.txs.map((t) => t.hash)).toContain(result.txHash);
    const mined = await u.public.getTransaction({ hash: result.txHash! });
    expect(mined.nonce).toBe(before);
    expect(await nonce()).toBe(before + 1);
    expect(BigInt(last.maxFeePerGas)).toBeGreaterThan(BigInt(first.maxFeePerGas));
    expect((await lastPayment()).tid).toBe(r.tid);
  });

  it('a nonce the node counts before it serves the receipt (lagging or load-balanced): confirmed, not failed', async () => {
    const tc = testClient(srv.anvil);
    // While `lagging`, the node has no receipt and no logs for what it just mined (its nonces are current).
    let lagging = false;
    const h = await startApp(srv, env('x5'), {
      wrapPublicClient: (c) =>
        ({
          ...c,
          getTransactionReceipt: (args: Parameters<PublicClient['getTransactionReceipt']>[0]) =>
            lagging
              ? Promise.reject(new TransactionReceiptNotFoundError({ hash: args.hash }))
              : c.getTransactionReceipt(args),
          getContractEvents: ((args: Parameters<PublicClient['getContractEvents']>[0]) =>
            lagging ? Promise.resolve([]) : c.getContractEvents(args)) as PublicClient['getContractEvents'],
        }) as PublicClient,
    });
    stops.push(h.close);
    await waitFor('holder', async () => h.app.submitter.isHolder());
    const req = await signedPayment(u, leader, (await lastPayment()).te);
    await tc.setAutomine(false);
    try {
      const r = await h.app.submitter.submit(req);
      await waitFor('broadcast', async () => (await h.app.outbox.get(r.tid))?.state === 'sent');
      const sent = (await h.app.outbox.get(r.tid))!.txs[0]!;
      lagging = true;
      await tc.mine({ blocks: 1 });
      await new Promise((res) => setTimeout(res, 500)); // ~10 ticks see the nonce used and nothing else
      expect((await h.app.outbox.get(r.tid))!.state).toBe('sent');
      lagging = false;
      const result = await finalResult(h, r.tid);
      expect(result).toMatchObject({ status: 'confirmed', txHash: sent.hash, errorCode: null });
      expect((await lastPayment()).tid).toBe(r.tid);
    } finally {
      lagging = false;
      await tc.setAutomine(true);
    }
  });

  it('a nonce used by a transaction it does not know: failed (SUBMIT_NONCE_CONSUMED) once two more blocks are out', async () => {
    const tc = testClient(srv.anvil);
    const h = await startApp(srv, env('x6'));
    stops.push(h.close);
    await waitFor('holder', async () => h.app.submitter.isHolder());
    const req = await signedPayment(u, leader, (await lastPayment()).te);
    await tc.setAutomine(false);
    try {
      const r = await h.app.submitter.submit(req);
      await waitFor('broadcast', async () => (await h.app.outbox.get(r.tid))?.state === 'sent');
      const entry = (await h.app.outbox.get(r.tid))!;
      // The same account sends another transaction with that nonce and higher fees: it replaces ours.
      const fee = BigInt(entry.txs[0]!.maxFeePerGas) * 3n;
      const other = await createWalletClient({
        account: privateKeyToAccount(anvilKey(leader.index)),
        chain: foundry,
        transport: http(srv.anvil.rpcUrl),
      }).sendTransaction({
        to: leader.account,
        value: 0n,
        nonce: entry.nonce!,
        maxFeePerGas: fee,
        maxPriorityFeePerGas: fee,
      });
      await tc.mine({ blocks: 1 });
      expect(await u.public.getTransaction({ hash: other })).toMatchObject({ nonce: entry.nonce });
      await new Promise((res) => setTimeout(res, 500));
      expect((await h.app.outbox.get(r.tid))!.state).toBe('sent'); // not decided in the block it was used
      await tc.mine({ blocks: 2 });
      expect(await finalResult(h, r.tid)).toMatchObject({
        status: 'failed',
        txHash: null,
        errorCode: 'SUBMIT_NONCE_CONSUMED',
      });
    } finally {
      await tc.setAutomine(true);
    }
  });

  it('submits a batch (payBatch) exactly once by its id and reports every entry: paid or skipped', async () => {
    const h = await startApp(srv, env('b1'));
    stops.push(h.close);
    await waitFor('holder', async () => h.app.submitter.isHolder());
    const unknown = '0x00000000000000000000000000000000000000e7' as const;
    const { te, ...req } = await signedBatch(u, leader, (await lastPayment()).te, [unknown]);
    const before = await nonce();
    const reply = await h.nc.request(subjects('b1').submit, enc.encode(JSON.stringify(req)), {
      timeout: 10_000,
    });
    const body = JSON.parse(dec.decode(reply.data));
    expect(body).toMatchObject({ ok: true, result: { tid: req.tid, status: 'queued', duplicate: false } });
    expect(await h.app.submitter.submit(req)).toMatchObject({ tid: req.tid, duplicate: true });
    const result = await finalResult(h, req.tid as Hex);
    expect(result).toMatchObject({ kind: 'batch', status: 'confirmed' });
    expect(result.entries).toEqual([
      expect.objectContaining({ pid: u.pid, status: 'paid', te: te.toString() }),
      expect.objectContaining({
        pid: getAddress(unknown),
        status: 'skipped',
        reason: 'UnknownProvider',
      }),
    ]);
    expect(BigInt(result.amount!)).toBeGreaterThan(0n);
    expect((await lastPayment()).te).toBe(te);
    expect(await nonce()).toBe(before + 1);
    // Again after it is final: known, nothing sent.
    expect(await h.app.submitter.submit(req)).toMatchObject({ status: 'confirmed', duplicate: true });
    const wrong = await h.app.submitter
      .submit({ ...req, tid: `0x${'00'.repeat(32)}` })
      .catch((e: unknown) => e);
    expect((wrong as { code: string }).code).toBe('SUBMIT_INVALID_REQUEST');
    expect(await nonce()).toBe(before + 1);
  });
});
