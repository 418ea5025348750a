import type { Logger } from '@whitepay/base';
import { type Address, TransactionNotFoundError } from 'viem';
import { ContractRevertError, FencedError } from '../../errors.js';
import type { OutboxEntry, OutboxState, PaymentResult, SentTx } from '../outbox.js';
import { sendRaw, signPayBatch } from './broadcast.js';
import { estimatePayBatch } from './calls.js';
import { estimateFees, type Fees, feesFor } from './fees.js';
import type { Retry, SubmitterOptions } from './options.js';
import { findReceipt, settledElsewhere, settlement } from './receipts.js';
import { resultOf } from './result.js';

const FINAL: Record<'confirmed' | 'reverted' | 'failed', PaymentResult['status']> = {
  confirmed: 'confirmed',
  reverted: 'reverted',
  failed: 'failed',
};

/**
 * The sender loop (only the replica holding the account's lock). Per batch:
 * one `eth_estimateGas` (the gas limit, and the revert check at the moment a
 * nonce is spent), the nonce bound for good with that gas, signed locally,
 * the raw transaction and its hash stored, and only then broadcast; then its
 * receipt, whose logs are the only read of what it did. A crash anywhere
 * leaves a state from which the next holder re-broadcasts the same bytes or
 * re-signs with the same nonce, so two transactions of one batch can never
 * both be mined. A transaction unmined after `bumpAfterBlocks` is replaced
 * with the same nonce and fees +`feeBumpBps`; a receipt with
 * `confirmations` blocks on top is final.
 */
export class Sender {
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private kicked = false;
  private holding = false;
  private chainId: number | undefined;
  /** bid → the head at which its nonce was first seen used with neither a receipt nor its settlement found. */
  private readonly unexplained = new Map<string, number>();

  constructor(
    private readonly o: SubmitterOptions,
    private readonly log: Logger,
    private readonly retry: Retry,
  ) {}

  private get account(): Address {
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

  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.kicked = false;
      try {
        await this.tick();
      } catch (err) {
        this.log.warn({ err }, 'sender tick failed');
      }
      if (!this.running) break;
      if (this.kicked) continue; // kicked during the tick (a batch queued meanwhile): again at once
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

  /** One step: take or renew the lock, then move every pending entry forward. */
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
      await this.retry('eth_blockNumber', () => this.o.publicClient.getBlockNumber({ cacheTime: 0 })),
    );
    for (const e of entries) {
      if (!this.running) return;
      try {
        await this.advance(e, head, lockValue);
      } catch (err) {
        if (err instanceof FencedError) {
          this.log.warn({ tid: e.bid, err: err.message }, 'fenced: stopping this round');
          return;
        }
        this.log.warn({ tid: e.bid, err }, 'outbox entry not advanced; retrying next tick');
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
    const log = this.log.child({ tid: e.bid });
    if (e.state === 'queued') {
      let gas: bigint;
      try {
        gas = await estimatePayBatch(
          this.o.publicClient,
          this.account,
          e.request,
          this.o.gasLimitMarginBps,
          this.retry,
        );
      } catch (err) {
        if (err instanceof ContractRevertError) {
          log.warn({ code: err.code }, 'queued batch would now revert; not sent');
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
      const chainNonce = await this.retry('eth_getTransactionCount', () =>
        this.o.publicClient.getTransactionCount({ address: this.account, blockTag: 'pending' }),
      );
      e.nonce = await this.o.outbox.assignNonce(this.o.lock.key, lockValue, e.bid, chainNonce, gas);
      e.gas = gas.toString();
      e.state = 'signing';
      log.info({ nonce: e.nonce, gas: e.gas }, 'nonce bound');
    }
    if (e.state === 'signing') {
      const fees = (await this.fees(null))!; // null only for a capped replacement
      const tx = await this.sign(e, fees, head);
      e.txs.push(tx);
      e.state = 'sent';
      await this.o.outbox.transition(this.o.lock.key, lockValue, 'signing', e);
      await this.broadcast(e, tx, 'first');
      return;
    }
    if (e.state === 'sent') await this.watch(e, head, lockValue);
  }

  private async watch(e: OutboxEntry, head: number, lockValue: string): Promise<void> {
    const log = this.log.child({ tid: e.bid, nonce: e.nonce });
    const found = await findReceipt(this.o.publicClient, e.txs, this.retry);
    if (found) {
      const { tx, receipt } = found;
      this.unexplained.delete(e.bid);
      const mined = Number(receipt.blockNumber);
      if (head - mined < this.o.confirmations) return; // mined, not final yet
      this.o.metrics.gasSpent.inc(Number(receipt.gasUsed * receipt.effectiveGasPrice));
      if (receipt.status === 'success') {
        const s = settlement(receipt, e.request.upkeeping);
        await this.finish(
          e,
          'sent',
          'confirmed',
          { txHash: tx.hash, block: mined, amount: s.amount, entries: s.entries },
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
    const latest = await this.retry('eth_getTransactionCount', () =>
      this.o.publicClient.getTransactionCount({ address: this.account, blockTag: 'latest' }),
    );
    if (e.nonce !== null && latest > e.nonce) {
      // Our nonce is used, but not by a transaction we know: settled by someone else, or replaced outside.
      const other = await settledElsewhere(this.o.publicClient, e, this.retry);
      if (other && other.status === 'success') {
        this.unexplained.delete(e.bid);
        const s = settlement(other, e.request.upkeeping);
        await this.finish(
          e,
          'sent',
          'confirmed',
          {
            txHash: other.transactionHash,
            block: Number(other.blockNumber),
            amount: s.amount,
            entries: s.entries,
          },
          lockValue,
        );
        return;
      }
      // Or ours was mined between the reads above: a node (or one behind a load balancer) can count
      // the new block's nonces before it serves that block's receipts and logs. Decide only once two
      // more blocks are out, so the block that used the nonce is surely readable.
      const seenAt = this.unexplained.get(e.bid);
      if (seenAt === undefined) {
        this.unexplained.set(e.bid, head);
        log.warn({ latest, head }, 'nonce used but no receipt yet; looking again in later blocks');
        return;
      }
      if (head < seenAt + 2) return;
      this.unexplained.delete(e.bid);
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

  private async fees(prev: SentTx | null): Promise<Fees | null> {
    const estimate = await this.retry('estimateFeesPerGas', () => estimateFees(this.o.publicClient));
    return feesFor(estimate, prev, {
      feeBumpBps: this.o.feeBumpBps,
      maxFeePerGasWei: this.o.maxFeePerGasWei,
    });
  }

  private async sign(e: OutboxEntry, fees: Fees, head: number): Promise<SentTx> {
    this.chainId ??= await this.retry('eth_chainId', () => this.o.publicClient.getChainId());
    return signPayBatch(this.o.walletClient, this.chainId, e, fees, head);
  }

  private async broadcast(e: OutboxEntry, tx: SentTx, kind: 'first' | 'bump' | 'rebroadcast'): Promise<void> {
    const r = await sendRaw(this.o.publicClient, tx.raw, this.retry);
    if (r.status === 'error') {
      // Stored and bound to its nonce: the next tick re-broadcasts or bumps; never a new nonce.
      this.log.warn({ tid: e.bid, hash: tx.hash, err: r.err }, 'broadcast failed; will retry');
      return;
    }
    if (r.status === 'sent') {
      this.o.metrics.txSent.inc({ kind });
      this.log.info({ tid: e.bid, hash: tx.hash, nonce: e.nonce, kind }, 'transaction broadcast');
    } else {
      this.log.debug({ tid: e.bid, hash: tx.hash }, 'node already has this nonce; waiting for the receipt');
    }
    await this.o.afterBroadcast?.(e.bid, tx.hash);
  }

  /** Publishes the final result (deduplicated by msgID), then the fenced state change: a crash in between repeats it. */
  private async finish(
    e: OutboxEntry,
    from: OutboxState,
    to: 'confirmed' | 'reverted' | 'failed',
    r: Partial<PaymentResult>,
    lockValue: string,
  ): Promise<void> {
    const result = resultOf(e, { status: FINAL[to], ...r });
    await this.o.payments.publish(result);
    e.state = to;
    if (result.errorCode) e.error = { code: result.errorCode, message: result.errorMessage ?? '' };
    await this.o.outbox.transition(this.o.lock.key, lockValue, from, e);
    await this.o.outbox.recordResult(result);
    this.o.metrics.payments.inc({ status: result.status });
    this.log.info(
      { tid: e.bid, status: result.status, txHash: result.txHash, block: result.block },
      'payment final',
    );
  }
}
