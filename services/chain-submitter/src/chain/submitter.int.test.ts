import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subjects } from '@whitepay/bus';
import { batchOutcome, upkeepingAbi } from '@whitepay/contracts';
import { encryptPrivateKey } from '@whitepay/ecdsa';
import { startAnvil, startNats, startRedis, startTxSigner, waitFor } from '@whitepay/testkit';
import { Redis } from 'ioredis';
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
import { ContractRevertError, OutboxLayoutError } from '../errors.js';
import {
  anvilKey,
  type Harness,
  readStream,
  type Servers,
  startApp,
  submitRequest,
  testClient,
} from '../testing/harness.js';
import {
  deployUpkeeping,
  signedBatch,
  signedPayment,
  type TestKeeper,
  type TestUpkeeping,
} from '../testing/upkeeping.js';
import { Outbox, type PaymentResult } from './outbox.js';

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

  it('rejects a batch that would revert with the decoded error and sends nothing; refuses the old single kind; discovers the contract', async () => {
    const h = await startApp(srv, env('r1'));
    stops.push(h.close);
    const good = await signedPayment(u, leader, u.ts0);
    // Two of the three signers: enough of them, but not the keys that made the aggregate.
    const bad = { ...good, signers: [0, 1] };
    const before = await nonce();

    // Through the NATS request/reply entry the coordinator uses.
    const reply = await submitRequest(
      h.nc,
      subjects('r1').submit,
      JSON.stringify(bad),
      anvilKey(leader.index),
    );
    const body = JSON.parse(dec.decode(reply.data));
    expect(body).toMatchObject({
      ok: false,
      error: { code: 'UpkeepingInvalidSignature', kind: 'unauthenticated', details: { args: [] } },
    });
    // Through the internal API: a typed error, decoded through the ABI.
    const err = await h.app.submitter.submit({ ...good, signers: [0] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContractRevertError);
    expect(err).toMatchObject({ code: 'UpkeepingTooFewSigners', errorName: 'UpkeepingTooFewSigners' });
    expect((err as ContractRevertError).args).toHaveLength(2);
    const invalid = await submitRequest(
      h.nc,
      subjects('r1').submit,
      '{"upkeeping":"0x12"}',
      anvilKey(leader.index),
    );
    expect(JSON.parse(dec.decode(invalid.data))).toMatchObject({
      ok: false,
      error: { code: 'SUBMIT_INVALID_REQUEST' },
    });
    // The single `pay` kind is gone: its body is refused.
    const single = {
      upkeeping: u.upkeeping,
      pid: u.pid,
      ts: '1',
      te: '2',
      st: '3',
      leaderId: leader.keeperId,
      r: 1,
      group: u.group,
      signers: [0, 1, 2],
      signature: good.signature,
    };
    expect(await h.app.submitter.submit(single).catch((e: unknown) => e)).toMatchObject({
      code: 'SUBMIT_INVALID_REQUEST',
    });

    expect(await nonce()).toBe(before);
    const results = await readStream<PaymentResult>(h.nc, subjects('r1').streams.payments);
    expect(results.map((r) => [r.data.status, r.data.errorCode, r.data.size])).toEqual([
      ['rejected', 'UpkeepingInvalidSignature', 1],
      ['rejected', 'UpkeepingTooFewSigners', 1],
    ]);
    // GET /v1/payments pages newest first by the results' sequence: one a page, each once, in order;
    // a result recorded between two pages does not shift the next one.
    const codes: string[] = [];
    let cursor: string | undefined;
    let inserted = false;
    do {
      const res = await h.app.http.inject(`/v1/payments?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode).toBe(200);
      const page = res.json() as { payments: PaymentResult[]; next?: string };
      codes.push(...page.payments.map((p) => p.errorCode!));
      cursor = page.next;
      if (!inserted) {
        inserted = true;
        await h.app.outbox.recordResult({ ...results[0]!.data, errorCode: 'INSERTED_MEANWHILE' });
      }
    } while (cursor);
    expect(codes).toEqual(['UpkeepingTooFewSigners', 'UpkeepingInvalidSignature']);
    expect((await h.app.http.inject('/v1/payments')).json().payments[0].errorCode).toBe('INSERTED_MEANWHILE');
    const badCursor = await h.app.http.inject('/v1/payments?cursor=bm9wZQ');
    expect(badCursor.statusCode).toBe(400);
    expect(badCursor.json()).toMatchObject({ code: 'BAD_CURSOR', kind: 'invalid_argument' });
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
    expect(disc.upkeepings[0].createdAt).toMatch(/^[0-9]+$/);
    expect(disc.scannedTo).toMatch(/^[0-9]+$/);
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
    expect((await lastPayment()).te).toBe(BigInt(req.te));
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
    const reply = await submitRequest(
      holder.nc,
      subjects('x2').submit,
      JSON.stringify(req1),
      anvilKey(leader.index),
    );
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
    expect((await lastPayment()).te).toBe(BigInt(req2.te));
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
    expect((await lastPayment()).te).toBe(BigInt(req.te));
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
      expect((await lastPayment()).te).toBe(BigInt(req.te));
    } finally {
      lagging = false;
      await tc.setAutomine(true);
    }
  });

  it('a nonce used with no receipt of ours: the batch settled on chain is found by its BatchSettled, confirmed with every entry', async () => {
    // The node never serves our transaction's receipt by hash (as if another of our transactions took the
    // nonce); only the logs lead to it.
    let hidden = true;
    let settledLookups = 0;
    const h = await startApp(srv, env('x7'), {
      wrapPublicClient: (c) =>
        ({
          ...c,
          getTransactionReceipt: (args: Parameters<PublicClient['getTransactionReceipt']>[0]) =>
            hidden
              ? Promise.reject(new TransactionReceiptNotFoundError({ hash: args.hash }))
              : c.getTransactionReceipt(args),
          getContractEvents: (async (args: Parameters<PublicClient['getContractEvents']>[0]) => {
            const logs = await c.getContractEvents(args);
            if (args.eventName === 'BatchSettled' && logs.length > 0) {
              settledLookups++;
              hidden = false;
            }
            return logs;
          }) as PublicClient['getContractEvents'],
        }) as PublicClient,
    });
    stops.push(h.close);
    await waitFor('holder', async () => h.app.submitter.isHolder());
    const req = await signedPayment(u, leader, (await lastPayment()).te);
    const r = await h.app.submitter.submit(req);
    const result = await finalResult(h, r.tid);
    const sent = (await h.app.outbox.get(r.tid))!.txs[0]!;
    expect(settledLookups).toBe(1);
    expect(result).toMatchObject({ status: 'confirmed', txHash: sent.hash, amount: req.st });
    expect(result.entries).toEqual([
      expect.objectContaining({ pid: u.pid, status: 'paid', ts: req.ts, te: req.te, amount: req.st }),
    ]);
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
    const reply = await submitRequest(
      h.nc,
      subjects('b1').submit,
      JSON.stringify(req),
      anvilKey(leader.index),
    );
    const body = JSON.parse(dec.decode(reply.data));
    expect(body).toMatchObject({ ok: true, result: { tid: req.tid, status: 'queued', duplicate: false } });
    expect(await h.app.submitter.submit(req)).toMatchObject({ tid: req.tid, duplicate: true });
    const result = await finalResult(h, req.tid as Hex);
    expect(result).toMatchObject({ status: 'confirmed', size: 2, leaderId: leader.keeperId });
    expect(result.entries).toEqual([
      expect.objectContaining({ pid: u.pid, status: 'paid', te: te.toString() }),
      expect.objectContaining({
        pid: getAddress(unknown),
        status: 'skipped',
        reason: 'UnknownProvider',
      }),
    ]);
    expect(BigInt(result.amount!)).toBeGreaterThan(0n);
    // The leader's earnings of the landed batch, from the contract's split: bonus + its share of each paid entry.
    const out = batchOutcome(await u.public.getTransactionReceipt({ hash: result.txHash! }), u.upkeeping);
    const earned = out.paid.reduce((sum, p) => sum + p.bonus + p.keeperShare, 0n);
    expect(earned).toBeGreaterThan(0n);
    expect(earned).toBeLessThan(BigInt(result.amount!));
    // Counted by discovery once the payment is confirmed (its PaymentMade: not excluded, and the bonus as leader).
    const fees = async () =>
      Number(
        /whitepay_fees_earned_wei_total\{[^}]*\} (\S+)/.exec((await h.app.http.inject('/metrics')).body)?.[1],
      );
    await waitFor('the fees of the landed batch counted', async () => (await fees()) > 0, 20_000, 100);
    expect(await fees()).toBe(Number(earned));
    // GET /v1/payments: the block a decimal string, the amounts wei strings.
    const listed = (await h.app.http.inject('/v1/payments?limit=1')).json().payments[0];
    expect(listed).toMatchObject({ tid: req.tid, block: String(result.block), amount: result.amount });
    expect((await lastPayment()).te).toBe(te);
    expect(await nonce()).toBe(before + 1);
    // Again after it is final: known, nothing sent.
    expect(await h.app.submitter.submit(req)).toMatchObject({ status: 'confirmed', duplicate: true });
    const wrong = await h.app.submitter
      .submit({ ...req, tid: `0x${'00'.repeat(32)}` })
      .catch((e: unknown) => e);
    expect((wrong as { code: string }).code).toBe('SUBMIT_INVALID_REQUEST');
    // What coordinators sent while a second kind existed (`kind: "batch"`) is still taken.
    expect(await h.app.submitter.submit({ ...req, kind: 'batch' })).toMatchObject({ duplicate: true });
    expect(await nonce()).toBe(before + 1);
  });

  it("carries an entry's idle set to the chain as signed; the idle keeper's balance does not move, the fees count the leader's share and bonus", async () => {
    const h = await startApp(srv, env('i1'));
    stops.push(h.close);
    await waitFor('holder', async () => h.app.submitter.isHolder());
    // Member indices are the registration order of u.keepers.
    const idleIndex = (u.keepers.indexOf(leader) + 1) % u.keepers.length;
    const idleKeeper = u.keepers[idleIndex]!;
    const balanceOf = (account: Hex) =>
      u.public.readContract({
        address: u.upkeeping,
        abi: upkeepingAbi,
        functionName: 'balanceOf',
        args: [account],
      });
    const idleBefore = await balanceOf(idleKeeper.account);
    const idle = 1n << BigInt(idleIndex);
    const { te: _te, ...req } = await signedBatch(
      u,
      leader,
      (await lastPayment()).te,
      [],
      1_000_000n,
      [0, 1, 2],
      idle,
    );
    expect(await h.app.submitter.submit(req)).toMatchObject({ tid: req.tid, duplicate: false });
    const result = await finalResult(h, req.tid as Hex);
    // Confirmed and paid: the packed bytes sent are those signed (else UpkeepingInvalidSignature).
    expect(result).toMatchObject({ status: 'confirmed', size: 1 });
    const out = batchOutcome(await u.public.getTransactionReceipt({ hash: result.txHash! }), u.upkeeping);
    expect(out.paid).toHaveLength(1);
    expect(out.paid[0]!.idle).toBe(idle);
    expect(await balanceOf(idleKeeper.account)).toBe(idleBefore);
    const earned = out.paid[0]!.bonus + out.paid[0]!.keeperShare;
    const fees = async () =>
      Number(
        /whitepay_fees_earned_wei_total\{[^}]*\} (\S+)/.exec((await h.app.http.inject('/metrics')).body)?.[1],
      );
    await waitFor('the fees of the landed batch counted', async () => (await fees()) > 0, 20_000, 100);
    expect(await fees()).toBe(Number(earned));
  });

  it('keeps payment results by sequence number; the list a release before kept is moved in, older than any new one', async () => {
    const conn = new Redis(srv.redis.url);
    try {
      const result = (tid: string): PaymentResult => ({
        tid: tid as Hex,
        upkeeping: u.upkeeping,
        user: u.user.account.address,
        leaderId: 1,
        r: 1,
        size: 1,
        amount: null,
        txHash: null,
        block: null,
        status: 'rejected',
        errorCode: 'X',
        at: 1,
      });
      // The previous release's list, newest first.
      await conn.lpush(
        'whitepay:mig:payments:v2',
        JSON.stringify(result('0x01')),
        JSON.stringify(result('0x02')),
      );
      const outbox = new Outbox(conn, 'whitepay:mig', leader.account, 1000);
      await outbox.recordResult(result('0x03'));
      const all = await outbox.resultsBefore(10);
      expect(all.map((r) => r.result.tid)).toEqual(['0x03', '0x02', '0x01']);
      expect((await outbox.resultsBefore(10, all[0]!.seq)).map((r) => r.result.tid)).toEqual([
        '0x02',
        '0x01',
      ]);
      expect(await conn.exists('whitepay:mig:payments:v2')).toBe(0);
    } finally {
      conn.disconnect();
    }
  });

  it('refuses to start while Redis holds pending payments of the outbox layout 1', async () => {
    const conn = new Redis(srv.redis.url);
    try {
      const legacy = `0x${'ab'.repeat(32)}`;
      await conn.zadd('whitepay:lg1:chain:outbox:pending', 1, legacy);
      const err = await startApp(srv, env('lg1')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OutboxLayoutError);
      expect(err).toMatchObject({ code: 'SUBMIT_OUTBOX_LEGACY', details: { pending: [legacy] } });
      expect(await conn.zcard('whitepay:lg1:chain:outbox:pending')).toBe(1); // nothing dropped
      // Once the previous release has finished them, it starts and records its layout.
      await conn.del('whitepay:lg1:chain:outbox:pending');
      const h = await startApp(srv, env('lg1'));
      expect(await conn.get('whitepay:lg1:chain:outbox:layout')).toBe('2');
      await h.close();
    } finally {
      conn.disconnect();
    }
  });

  it('sends from the key however the operator keeps it: a V3 keystore with a passphrase file, or a remote signer process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'submitter-keys-'));
    const key = anvilKey(leader.index);
    await writeFile(join(dir, 'account.json'), JSON.stringify(await encryptPrivateKey(key, 'pass phrase')));
    await writeFile(join(dir, 'pass.txt'), 'pass phrase\n');
    const { CHAIN_SUBMITTER_PRIVATE_KEY: _hex, ...withoutKey } = env('ks1');
    const keystore = await startApp(srv, {
      ...withoutKey,
      CHAIN_SUBMITTER_KEYSTORE_FILE: join(dir, 'account.json'),
      CHAIN_SUBMITTER_KEYSTORE_PASSWORD_FILE: join(dir, 'pass.txt'),
    });
    stops.push(keystore.close);
    await waitFor('holder', async () => keystore.app.submitter.isHolder());
    const first = await signedPayment(u, leader, (await lastPayment()).te);
    const r1 = await keystore.app.submitter.submit(first);
    expect(await finalResult(keystore, r1.tid)).toMatchObject({ status: 'confirmed', errorCode: null });
    await keystore.close();

    // The key held by a separate signer process (eth_signTransaction); this process never sees it.
    const signer = await startTxSigner({ key, token: 'signer-token' });
    stops.push(signer.stop);
    const { CHAIN_SUBMITTER_NATS_NAMESPACE: _ns, ...rest } = withoutKey;
    const remote = await startApp(srv, {
      ...rest,
      CHAIN_SUBMITTER_NATS_NAMESPACE: 'ks2',
      CHAIN_SUBMITTER_SIGNER_URL: signer.url,
      CHAIN_SUBMITTER_SIGNER_ADDRESS: leader.account,
      CHAIN_SUBMITTER_SIGNER_TOKEN: 'signer-token',
      CHAIN_SUBMITTER_NATS_SIGNING_KEY: anvilKey(0), // the remote signer signs transactions only
    });
    stops.push(remote.close);
    await waitFor('holder', async () => remote.app.submitter.isHolder());
    const second = await signedPayment(u, leader, (await lastPayment()).te);
    const r2 = await remote.app.submitter.submit(second);
    const result = await finalResult(remote, r2.tid);
    expect(result).toMatchObject({ status: 'confirmed', errorCode: null });
    const tx = await u.public.getTransaction({ hash: result.txHash as `0x${string}` });
    expect(tx.from.toLowerCase()).toBe(leader.account.toLowerCase());
    expect((await lastPayment()).te).toBe(BigInt(second.te));
    await remote.close();
  });

  it('refuses a forged submit request (unsigned, signed by another key, or altered), typed and counted, and sends nothing', async () => {
    const h = await startApp(srv, env('fs1'));
    stops.push(h.close);
    await waitFor('holder', async () => h.app.submitter.isHolder());
    const req = await signedPayment(u, leader, (await lastPayment()).te);
    const subject = subjects('fs1').submit;
    const before = await nonce();
    const refusal = async (reply: Promise<{ data: Uint8Array }>) =>
      JSON.parse(dec.decode((await reply).data));
    expect(await refusal(submitRequest(h.nc, subject, JSON.stringify(req), null))).toMatchObject({
      ok: false,
      error: { code: 'BUS_MESSAGE_UNSIGNED', kind: 'unauthenticated' },
    });
    expect(await refusal(submitRequest(h.nc, subject, JSON.stringify(req), anvilKey(7)))).toMatchObject({
      ok: false,
      error: { code: 'BUS_SIGNER_FOREIGN', kind: 'permission_denied' },
    });
    // signed by the keeper's key, for another body: the signature does not cover what arrives
    const data = enc.encode(JSON.stringify(req));
    const { busSigner } = await import('@whitepay/bus');
    const altered = h.nc.request(subject, enc.encode(JSON.stringify({ ...req, r: 2 })), {
      timeout: 10_000,
      headers: busSigner(anvilKey(leader.index)).headers(subject, data),
    });
    expect(await refusal(altered)).toMatchObject({ ok: false, error: { code: 'BUS_SIGNER_FOREIGN' } });
    expect(await h.app.outbox.recentResults(100)).not.toContainEqual(
      expect.objectContaining({ tid: req.tid }),
    );
    expect(await nonce()).toBe(before);
    const text = await h.app.metrics.rejected.get();
    const count = (reason: string) =>
      text.values.find((v) => v.labels.boundary === 'nats:submit' && v.labels.reason === reason)?.value;
    expect([count('BUS_MESSAGE_UNSIGNED'), count('BUS_SIGNER_FOREIGN')]).toEqual([1, 2]);
    // the coordinator's own request still goes through
    const ok = await refusal(submitRequest(h.nc, subject, JSON.stringify(req), anvilKey(leader.index)));
    expect(ok).toMatchObject({ ok: true, result: { tid: req.tid, duplicate: false } });
    expect((await finalResult(h, req.tid as Hex)).status).toBe('confirmed');
  });
});
