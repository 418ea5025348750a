import type { Logger, WhitePayError } from '@whitepay/base';
import {
  batchEntriesJson,
  batchOutcome,
  decodeUpkeepingError,
  UpkeepingError,
  upkeepingAbi,
} from '@whitepay/contracts';
import { batchId, tid as computeTid, decodeBatchEntries } from '@whitepay/core';
import {
  type Address,
  encodeFunctionData,
  getAddress,
  type Hex,
  keccak256,
  type PublicClient,
  parseEventLogs,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
} from 'viem';
import { z } from 'zod';
import type { SenderWallet } from '../app.js';
import { ChainError, FencedError, SubmitRequestError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { PaymentPublisher } from '../nats/payments.js';
import type { SenderLock } from './lock.js';
import type {
  BatchEntryResult,
  Outbox,
  OutboxEntry,
  OutboxState,
  PaymentRequest,
  PaymentResult,
  SentTx,
} from './outbox.js';
import { isTransient, withRetry } from './retry.js';

const hex = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'expected 0x-prefixed hex bytes');
const addr = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected an address');
const uint = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative(), z.bigint().nonnegative()]);

/** The submit request (NATS `<ns>.submit` body, JSON; integers as decimal strings). */
export const submitRequestSchema = z.object({
  upkeeping: addr,
  pid: addr,
  ts: uint,
  te: uint,
  st: uint,
  leaderId: z.number().int().min(0).max(0xffffffff),
  r: z.number().int().min(1).max(255),
  group: hex,
  signers: z.array(z.number().int().min(0).max(255)),
  signature: hex,
  /** Optional: when given, must equal the tid the submitter computes. */
  tid: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/)
    .optional(),
});

export type SubmitRequestInput = z.input<typeof submitRequestSchema>;

/**
 * A batch submit request (`kind: "batch"`, the "Scale" issue): `payBatch`'s
 * arguments plus the leader position `r` common to every entry and the batch
 * id (`tid`, core's `batchId`), which the submitter recomputes. Exactly once
 * per batch id, like a single payment per tid.
 */
export const batchSubmitRequestSchema = z.object({
  kind: z.literal('batch'),
  upkeeping: addr,
  /** Packed entries (68 bytes each). */
  entries: hex,
  leaderId: z.number().int().min(0).max(0xffffffff),
  r: z.number().int().min(1).max(255),
  group: hex,
  signers: z.array(z.number().int().min(0).max(255)),
  signature: hex,
  tid: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
});

export type BatchSubmitRequestInput = z.input<typeof batchSubmitRequestSchema>;

export interface SubmitReply {
  tid: Hex;
  status: OutboxState;
  /** True when this tid was already known (nothing new was queued). */
  duplicate: boolean;
  txHash?: Hex | null;
}

export interface SubmitterOptions {
  publicClient: PublicClient;
  walletClient: SenderWallet;
  outbox: Outbox;
  lock: SenderLock;
  payments: PaymentPublisher;
  metrics: Metrics;
  log: Logger;
  confirmations: number;
  pollIntervalMs: number;
  bumpAfterBlocks: number;
  feeBumpBps: number;
  maxFeePerGasWei?: bigint | undefined;
  gasLimitMarginBps: number;
  rpcRetries: number;
  /** Test seam: runs right after a raw transaction is broadcast (a throw here simulates a crash). */
  afterBroadcast?: (tid: Hex, hash: Hex) => Promise<void>;
}

const FINAL: Record<string, PaymentResult['status']> = {
  confirmed: 'confirmed',
  reverted: 'reverted',
  failed: 'failed',
};

/**
 * Submits payments exactly once in effect (SPEC 10 "never pays twice").
 *
 * - `submit` (any replica): validates, computes the tid, returns the known
 *   state of a tid already in the outbox, simulates `pay` (a revert becomes a
 *   typed `UpkeepingError` and no transaction is ever sent), then queues.
 * - the sender loop (only the replica holding the account's lock): binds a
 *   nonce to each queued entry for good, signs locally, stores the raw
 *   transaction and its hash, and only then broadcasts. A crash anywhere
 *   leaves a state from which the next holder re-broadcasts the same bytes or
 *   re-signs with the same nonce, so two payments of one tid can never both
 *   be mined (and the contract would refuse the second anyway). Before
 *   spending a nonce it checks whether the contract already recorded the tid.
 * - fees: EIP-1559 estimates; a transaction unmined after `bumpAfterBlocks`
 *   is replaced with the same nonce and fees +`feeBumpBps`.
 * - results: a receipt with `confirmations` blocks on top is final; the
 *   result goes to `<ns>.payments` and the recent list.
 */
export class Submitter {
  private readonly log: Logger;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly users = new Map<string, Address>();
  private holding = false;
  /** tid → the head at which its nonce was first seen used with neither a receipt nor its payment found. */
  private readonly unexplained = new Map<string, number>();

  constructor(private readonly o: SubmitterOptions) {
    this.log = o.log.child({ component: 'submitter', account: o.walletClient.account.address });
  }

  get account(): Address {
    return this.o.walletClient.account.address;
  }

  isHolder(): boolean {
    return this.holding;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    if (opts.release !== false && this.holding) await this.o.lock.release().catch(() => undefined);
    this.holding = false;
    this.o.metrics.lockHeld.set(0);
  }

  /** Runs the sender loop now instead of at the next interval. */
  kick(): void {
    this.wake?.();
  }

  private retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, { retries: this.o.rpcRetries, log: this.log, what });
  }

  // ───────────────────────────── submit (any replica) ─────────────────────────────

  async submit(input: unknown): Promise<SubmitReply> {
    if (typeof input === 'object' && input !== null && (input as { kind?: unknown }).kind === 'batch') {
      return this.submitBatch(input);
    }
    const parsed = submitRequestSchema.safeParse(input);
    if (!parsed.success) {
      const err = new SubmitRequestError(
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
      this.o.metrics.rejected.inc({ boundary: 'submit', reason: err.code });
      throw err;
    }
    const p = parsed.data;
    const req: PaymentRequest = {
      upkeeping: getAddress(p.upkeeping),
      pid: getAddress(p.pid),
      ts: BigInt(p.ts).toString(),
      te: BigInt(p.te).toString(),
      st: BigInt(p.st).toString(),
      leaderId: p.leaderId,
      r: p.r,
      group: p.group as Hex,
      signers: p.signers,
      signature: p.signature as Hex,
    };
    const user = await this.userOf(req.upkeeping);
    let tid: Hex;
    try {
      tid = computeTid({
        ts: BigInt(req.ts),
        te: BigInt(req.te),
        pid: req.pid,
        user,
        leaderId: req.leaderId,
        r: req.r,
      });
    } catch (err) {
      this.o.metrics.rejected.inc({ boundary: 'submit', reason: 'SUBMIT_INVALID_REQUEST' });
      throw new SubmitRequestError((err as Error).message);
    }
    if (p.tid !== undefined && p.tid.toLowerCase() !== tid.toLowerCase()) {
      this.o.metrics.rejected.inc({ boundary: 'submit', reason: 'SUBMIT_TID_MISMATCH' });
      throw new SubmitRequestError(`tid ${p.tid} differs from the computed ${tid}`, { expected: tid });
    }
    return this.enqueue(req, user, tid);
  }

  /** The batch request: decoded, its id recomputed, then queued like a single payment. */
  private async submitBatch(input: unknown): Promise<SubmitReply> {
    const parsed = batchSubmitRequestSchema.safeParse(input);
    if (!parsed.success) {
      const err = new SubmitRequestError(
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
      this.o.metrics.rejected.inc({ boundary: 'submit', reason: err.code });
      throw err;
    }
    const p = parsed.data;
    const upkeeping = getAddress(p.upkeeping);
    const user = await this.userOf(upkeeping);
    let bid: Hex;
    let first: { pid: Address; ts: bigint; te: bigint };
    let total = 0n;
    try {
      const entries = decodeBatchEntries(p.entries as Hex);
      bid = batchId({ user, leaderId: p.leaderId, r: p.r, items: entries });
      first = entries[0]!;
      for (const e of entries) total += e.st;
    } catch (err) {
      this.o.metrics.rejected.inc({ boundary: 'submit', reason: 'SUBMIT_INVALID_REQUEST' });
      throw new SubmitRequestError((err as Error).message);
    }
    if (p.tid.toLowerCase() !== bid.toLowerCase()) {
      this.o.metrics.rejected.inc({ boundary: 'submit', reason: 'SUBMIT_TID_MISMATCH' });
      throw new SubmitRequestError(`batch id ${p.tid} differs from the computed ${bid}`, { expected: bid });
    }
    const req: PaymentRequest = {
      upkeeping,
      pid: first.pid,
      ts: first.ts.toString(),
      te: first.te.toString(),
      st: total.toString(),
      leaderId: p.leaderId,
      r: p.r,
      group: p.group as Hex,
      signers: p.signers,
      signature: p.signature as Hex,
      entries: (p.entries as Hex).toLowerCase() as Hex,
    };
    return this.enqueue(req, user, bid);
  }

  /** Known → its state; already paid → confirmed; else simulate and queue (exactly once per tid). */
  private async enqueue(req: PaymentRequest, user: Address, tid: Hex): Promise<SubmitReply> {
    const log = this.log.child({ tid });
    const existing = await this.o.outbox.get(tid);
    if (existing && existing.state !== 'failed' && existing.state !== 'reverted') {
      log.info({ state: existing.state }, 'submit: tid already known');
      return { tid, status: existing.state, duplicate: true, txHash: existing.txs.at(-1)?.hash ?? null };
    }
    const paid = await this.paidLog(req, user, tid);
    if (paid) {
      log.info({ txHash: paid.txHash }, 'submit: already paid on chain');
      return { tid, status: 'confirmed', duplicate: true, txHash: paid.txHash };
    }
    let gas: bigint;
    try {
      gas = await this.simulate(req);
    } catch (err) {
      if (err instanceof UpkeepingError) {
        log.warn({ code: err.code, args: err.details.args }, 'submit: pay would revert, rejected');
        this.o.metrics.rejected.inc({ boundary: 'submit', reason: err.code });
        await this.finishRejected(req, user, tid, err);
      }
      throw err;
    }
    const now = Date.now();
    const entry: OutboxEntry = {
      tid,
      user,
      state: 'queued',
      request: req,
      nonce: null,
      gas: gas.toString(),
      txs: [],
      createdAt: now,
      updatedAt: now,
    };
    const created = await this.o.outbox.create(entry);
    if (created !== 'created') return { tid, status: created, duplicate: true };
    log.info({ gas: gas.toString() }, 'submit: queued');
    this.kick();
    return { tid, status: 'queued', duplicate: false };
  }

  private async userOf(upkeeping: Address): Promise<Address> {
    const known = this.users.get(upkeeping);
    if (known) return known;
    try {
      const u = await this.retry('user()', () =>
        this.o.publicClient.readContract({ address: upkeeping, abi: upkeepingAbi, functionName: 'user' }),
      );
      this.users.set(upkeeping, u);
      return u;
    } catch (err) {
      const e = decodeUpkeepingError(err);
      if (e.code === 'CHAIN_ERROR' && !isTransient(err))
        throw new SubmitRequestError(`${upkeeping} is not an Upkeeping contract`, { upkeeping });
      throw e;
    }
  }

  private callData(req: PaymentRequest): Hex {
    if (req.entries !== undefined) {
      return encodeFunctionData({
        abi: upkeepingAbi,
        functionName: 'payBatch',
        args: [req.entries, req.leaderId, req.group, req.signers, req.signature],
      });
    }
    return encodeFunctionData({
      abi: upkeepingAbi,
      functionName: 'pay',
      args: [
        req.pid,
        BigInt(req.ts),
        BigInt(req.te),
        BigInt(req.st),
        req.leaderId,
        req.group,
        req.signers,
        req.signature,
      ],
    });
  }

  /** Simulates `pay` from the keeper account; a revert is thrown as a typed `UpkeepingError`. Returns the gas limit. */
  private async simulate(req: PaymentRequest): Promise<bigint> {
    try {
      const gas = await this.retry('estimateGas', () =>
        this.o.publicClient.estimateGas({
          account: this.o.walletClient.account,
          to: req.upkeeping,
          data: this.callData(req),
        }),
      );
      return (gas * BigInt(10_000 + this.o.gasLimitMarginBps)) / 10_000n;
    } catch (err) {
      if (err instanceof ChainError) throw err;
      const e = decodeUpkeepingError(err);
      if (e instanceof UpkeepingError) throw e;
      if (isTransient(err))
        throw new ChainError('CHAIN_RPC_UNAVAILABLE', 'simulation failed', { cause: err });
      throw new ChainError('CHAIN_CALL_REVERTED', `pay would fail: ${(err as Error).message}`, {
        kind: 'failed_precondition',
        cause: err,
      });
    }
  }

  /**
   * The `PaymentMade` event of this tid, if the contract already recorded it.
   * For a batch: the event of its first entry (tid of `(user, pid, ts, te,
   * leaderId, r)`), i.e. the batch's transaction was mined already.
   */
  private async paidLog(
    req: PaymentRequest,
    user: Address,
    tid: Hex,
  ): Promise<{ txHash: Hex; block: number; amount: bigint } | null> {
    if (req.entries !== undefined) {
      tid = computeTid({
        user,
        pid: req.pid,
        ts: BigInt(req.ts),
        te: BigInt(req.te),
        leaderId: req.leaderId,
        r: req.r,
      });
    }
    const logs = await this.retry('getLogs PaymentMade', () =>
      this.o.publicClient.getContractEvents({
        address: req.upkeeping,
        abi: upkeepingAbi,
        eventName: 'PaymentMade',
        args: { tid },
        fromBlock: BigInt(req.te),
        toBlock: 'latest',
      }),
    );
    const l = logs[0];
    if (!l || l.transactionHash === null || l.blockNumber === null) return null;
    return { txHash: l.transactionHash, block: Number(l.blockNumber), amount: l.args.amount ?? 0n };
  }

  /** What a confirmed `payBatch` did, entry by entry (contracts' `batchOutcome` of its receipt). */
  private async batchResult(
    upkeeping: Address,
    txHash: Hex,
  ): Promise<{ amount: string; entries: BatchEntryResult[] }> {
    const receipt = await this.retry('getTransactionReceipt', () =>
      this.o.publicClient.getTransactionReceipt({ hash: txHash }),
    );
    const out = batchOutcome(receipt, upkeeping);
    const entries: BatchEntryResult[] = batchEntriesJson(out);
    return { amount: out.amount.toString(), entries };
  }

  private result(
    e: { request: PaymentRequest; user: Address; tid: Hex },
    r: Partial<PaymentResult>,
  ): PaymentResult {
    return {
      ...(e.request.entries !== undefined ? { kind: 'batch' as const } : {}),
      tid: e.tid,
      upkeeping: e.request.upkeeping,
      user: e.user,
      pid: e.request.pid,
      ts: e.request.ts,
      te: e.request.te,
      st: e.request.st,
      amount: null,
      txHash: null,
      block: null,
      status: 'failed',
      errorCode: null,
      at: Date.now(),
      ...r,
    };
  }

  private async finishRejected(
    req: PaymentRequest,
    user: Address,
    tid: Hex,
    err: WhitePayError,
  ): Promise<void> {
    const r = this.result(
      { request: req, user, tid },
      { status: 'rejected', errorCode: err.code, errorMessage: err.message },
    );
    await this.o.payments.publish(r);
    await this.o.outbox.recordResult(r);
    this.o.metrics.payments.inc({ status: 'rejected' });
  }

  // ───────────────────────────── sender loop (lock holder) ─────────────────────────────

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.tick();
      } catch (err) {
        this.log.warn({ err }, 'sender tick failed');
      }
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.o.pollIntervalMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** One step of the sender: take or renew the lock, then move every pending entry forward. */
  async tick(): Promise<void> {
    const held = await this.o.lock.tryAcquire();
    if (held !== this.holding)
      this.log.info({ token: this.o.lock.fencingToken }, held ? 'sender lock acquired' : 'sender lock lost');
    this.holding = held;
    this.o.metrics.lockHeld.set(held ? 1 : 0);
    if (!held) return;
    const lockValue = this.o.lock.value!;
    const entries = await this.o.outbox.pending();
    this.o.metrics.outboxPending.set(entries.length);
    const balance = await this.o.publicClient.getBalance({ address: this.account }).catch(() => null);
    if (balance !== null) this.o.metrics.walletBalance.set(Number(balance));
    if (entries.length === 0) {
      await this.reconcileNonce(lockValue, entries);
      return;
    }
    const head = Number(
      await this.retry('getBlockNumber', () => this.o.publicClient.getBlockNumber({ cacheTime: 0 })),
    );
    for (const e of entries) {
      if (!this.running) return;
      try {
        await this.advance(e, head, lockValue);
      } catch (err) {
        if (err instanceof FencedError) {
          this.log.warn({ tid: e.tid, err: err.message }, 'fenced: stopping this round');
          return;
        }
        this.log.warn({ tid: e.tid, err }, 'outbox entry not advanced; retrying next tick');
      }
    }
  }

  /** A nonce stored ahead of the chain with nothing in flight (a signed transaction never broadcast) is reset. */
  private async reconcileNonce(lockValue: string, entries: OutboxEntry[]): Promise<void> {
    if (entries.some((e) => e.state === 'signing' || e.state === 'sent')) return;
    const stored = await this.o.outbox.storedNonce();
    if (stored === null) return;
    const chain = await this.o.publicClient.getTransactionCount({
      address: this.account,
      blockTag: 'pending',
    });
    if (stored > chain) {
      this.log.warn({ stored, chain }, 'managed nonce ahead of the chain with nothing in flight; reset');
      await this.o.outbox.resetNonce(this.o.lock.key, lockValue, chain);
    }
  }

  private async advance(e: OutboxEntry, head: number, lockValue: string): Promise<void> {
    const lockKey = this.o.lock.key;
    const log = this.log.child({ tid: e.tid });
    if (e.state === 'queued') {
      // Before spending a nonce: was this tid paid already (by us before a crash, or by anyone)?
      const paid = await this.paidLog(e.request, e.user, e.tid);
      if (paid) {
        await this.finish(
          e,
          'queued',
          'confirmed',
          { txHash: paid.txHash, block: paid.block, amount: paid.amount.toString() },
          lockValue,
        );
        return;
      }
      try {
        e.gas = (await this.simulate(e.request)).toString();
      } catch (err) {
        if (err instanceof UpkeepingError) {
          log.warn({ code: err.code }, 'queued payment would now revert; not sent');
          await this.finish(
            e,
            'queued',
            'failed',
            { status: 'rejected', errorCode: err.code, errorMessage: err.message },
            lockValue,
          );
          return;
        }
        throw err;
      }
      const chainNonce = await this.retry('getTransactionCount', () =>
        this.o.publicClient.getTransactionCount({ address: this.account, blockTag: 'pending' }),
      );
      e.nonce = await this.o.outbox.assignNonce(lockKey, lockValue, e.tid, chainNonce);
      e.state = 'signing';
      log.info({ nonce: e.nonce }, 'nonce bound');
    }
    if (e.state === 'signing') {
      const fees = (await this.fees(null))!; // null only for a capped replacement
      const tx = await this.sign(e, fees, head);
      e.txs.push(tx);
      e.state = 'sent';
      await this.o.outbox.transition(lockKey, lockValue, 'signing', e);
      await this.broadcast(e, tx, 'first');
      return;
    }
    if (e.state === 'sent') await this.watch(e, head, lockValue);
  }

  private async watch(e: OutboxEntry, head: number, lockValue: string): Promise<void> {
    const log = this.log.child({ tid: e.tid, nonce: e.nonce });
    for (const tx of [...e.txs].reverse()) {
      let receipt: Awaited<ReturnType<PublicClient['getTransactionReceipt']>>;
      try {
        receipt = await this.retry('getTransactionReceipt', () =>
          this.o.publicClient.getTransactionReceipt({ hash: tx.hash }),
        );
      } catch (err) {
        if (err instanceof TransactionReceiptNotFoundError) continue;
        throw err;
      }
      this.unexplained.delete(e.tid);
      const mined = Number(receipt.blockNumber);
      if (head - mined < this.o.confirmations) return; // mined, not final yet
      const spent = receipt.gasUsed * receipt.effectiveGasPrice;
      this.o.metrics.gasSpent.inc(Number(spent));
      if (receipt.status === 'success') {
        const [made] = parseEventLogs({ abi: upkeepingAbi, logs: receipt.logs, eventName: 'PaymentMade' });
        await this.finish(
          e,
          'sent',
          'confirmed',
          { txHash: tx.hash, block: mined, amount: made ? made.args.amount.toString() : null },
          lockValue,
        );
      } else {
        await this.finish(
          e,
          'sent',
          'reverted',
          {
            txHash: tx.hash,
            block: mined,
            errorCode: 'CHAIN_TX_REVERTED',
            errorMessage: 'transaction reverted',
          },
          lockValue,
        );
      }
      return;
    }
    // No receipt for any of our transactions.
    const latest = await this.retry('getTransactionCount', () =>
      this.o.publicClient.getTransactionCount({ address: this.account, blockTag: 'latest' }),
    );
    if (e.nonce !== null && latest > e.nonce) {
      // Our nonce is used, but not by a transaction we know: paid by someone else, or replaced outside.
      const paid = await this.paidLog(e.request, e.user, e.tid);
      if (paid) {
        this.unexplained.delete(e.tid);
        await this.finish(
          e,
          'sent',
          'confirmed',
          { txHash: paid.txHash, block: paid.block, amount: paid.amount.toString() },
          lockValue,
        );
        return;
      }
      // Or ours was mined between the reads above: a node (or one behind a load balancer) can count
      // the new block's nonces before it serves that block's receipts and logs. Decide only once two
      // more blocks are out, so the block that used the nonce is surely readable.
      const seenAt = this.unexplained.get(e.tid);
      if (seenAt === undefined) {
        this.unexplained.set(e.tid, head);
        log.warn({ latest, head }, 'nonce used but no receipt yet; looking again in later blocks');
        return;
      }
      if (head < seenAt + 2) return;
      this.unexplained.delete(e.tid);
      log.error({ latest }, 'nonce consumed by an unknown transaction');
      await this.finish(
        e,
        'sent',
        'failed',
        { errorCode: 'SUBMIT_NONCE_CONSUMED', errorMessage: `nonce ${e.nonce} used by another transaction` },
        lockValue,
      );
      return;
    }
    const last = e.txs.at(-1)!;
    if (head - last.sentAtBlock >= this.o.bumpAfterBlocks) {
      const fees = await this.fees(last);
      if (fees === null) {
        log.warn('fee cap reached; cannot bump');
      } else {
        const tx = await this.sign(e, fees, head);
        e.txs.push(tx);
        await this.o.outbox.transition(this.o.lock.key, lockValue, 'sent', e);
        log.info(
          { hash: tx.hash, maxFeePerGas: tx.maxFeePerGas },
          'stuck transaction replaced with higher fees',
        );
        await this.broadcast(e, tx, 'bump');
        return;
      }
    }
    // Still pending: make sure the node knows it (a restarted or reorganised node may have dropped it).
    try {
      await this.o.publicClient.getTransaction({ hash: last.hash });
    } catch (err) {
      if (err instanceof TransactionNotFoundError) await this.broadcast(e, last, 'rebroadcast');
      else throw err;
    }
  }

  /** EIP-1559 fees: the node's estimate, and for a replacement at least +feeBumpBps over the last one. */
  private async fees(
    prev: SentTx | null,
  ): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | null> {
    const est = await this.retry('estimateFeesPerGas', () => this.o.publicClient.estimateFeesPerGas());
    let maxFeePerGas = est.maxFeePerGas;
    let maxPriorityFeePerGas = est.maxPriorityFeePerGas;
    if (prev) {
      const bump = (v: string) => (BigInt(v) * BigInt(10_000 + this.o.feeBumpBps)) / 10_000n + 1n;
      const minPrio = bump(prev.maxPriorityFeePerGas);
      const minMax = bump(prev.maxFeePerGas);
      if (maxPriorityFeePerGas < minPrio) maxPriorityFeePerGas = minPrio;
      if (maxFeePerGas < minMax) maxFeePerGas = minMax;
    }
    if (maxFeePerGas < maxPriorityFeePerGas) maxFeePerGas = maxPriorityFeePerGas;
    const cap = this.o.maxFeePerGasWei;
    if (cap !== undefined && maxFeePerGas > cap) {
      if (prev) return null;
      maxFeePerGas = cap;
      if (maxPriorityFeePerGas > cap) maxPriorityFeePerGas = cap;
    }
    return { maxFeePerGas, maxPriorityFeePerGas };
  }

  private async sign(
    e: OutboxEntry,
    fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint },
    head: number,
  ): Promise<SentTx> {
    const chainId = await this.o.publicClient.getChainId();
    const raw = await this.o.walletClient.signTransaction({
      account: this.o.walletClient.account,
      chain: null,
      chainId,
      type: 'eip1559',
      to: e.request.upkeeping,
      data: this.callData(e.request),
      nonce: e.nonce!,
      gas: BigInt(e.gas),
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      value: 0n,
    });
    return {
      hash: keccak256(raw),
      raw,
      maxFeePerGas: fees.maxFeePerGas.toString(),
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString(),
      sentAtBlock: head,
    };
  }

  private async broadcast(e: OutboxEntry, tx: SentTx, kind: 'first' | 'bump' | 'rebroadcast'): Promise<void> {
    try {
      await this.retry('sendRawTransaction', () =>
        this.o.publicClient.sendRawTransaction({ serializedTransaction: tx.raw }),
      );
      this.o.metrics.txSent.inc({ kind });
      this.log.info({ tid: e.tid, hash: tx.hash, nonce: e.nonce, kind }, 'transaction broadcast');
    } catch (err) {
      const msg = (err as Error).message ?? '';
      if (/already known|known transaction|already imported|nonce too low|nonce.*lower/i.test(msg)) {
        this.log.debug({ tid: e.tid, hash: tx.hash }, 'node already has this nonce; waiting for the receipt');
      } else {
        // Stored and bound to its nonce: the next tick re-broadcasts or bumps; never a new nonce.
        this.log.warn({ tid: e.tid, hash: tx.hash, err: msg }, 'broadcast failed; will retry');
        return;
      }
    }
    await this.o.afterBroadcast?.(e.tid, tx.hash);
  }

  private async finish(
    e: OutboxEntry,
    from: OutboxState,
    to: 'confirmed' | 'reverted' | 'failed',
    r: Partial<PaymentResult>,
    lockValue: string,
  ): Promise<void> {
    if (e.request.entries !== undefined && to === 'confirmed' && r.txHash) {
      r = { ...r, ...(await this.batchResult(e.request.upkeeping, r.txHash)) };
    }
    const result = this.result(e, { status: FINAL[to]!, ...r });
    // Publish first (deduplicated by msgID), then the fenced state change: a crash in between repeats the result.
    await this.o.payments.publish(result);
    e.state = to;
    if (result.errorCode) e.error = { code: result.errorCode, message: result.errorMessage ?? '' };
    await this.o.outbox.transition(this.o.lock.key, lockValue, from, e);
    await this.o.outbox.recordResult(result);
    this.o.metrics.payments.inc({ status: result.status });
    this.log.info(
      { tid: e.tid, status: result.status, txHash: result.txHash, block: result.block },
      'payment final',
    );
  }
}
