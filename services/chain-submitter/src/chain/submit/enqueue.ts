import type { Logger, WhitePayError } from '@whitepay/base';
import type { SubmitReply } from '@whitepay/bus';
import { upkeepingAbi } from '@whitepay/contracts';
import type { Address, Hex } from 'viem';
import { ChainError, ContractRevertError, SubmitRequestError } from '../../errors.js';
import type { BatchRequest, OutboxEntry } from '../outbox.js';
import { checkPayBatch } from './calls.js';
import type { Retry, SubmitterOptions } from './options.js';
import { batchIdOf, parseSubmit } from './request.js';
import { resultOf } from './result.js';

/**
 * The submit path (any replica): validates the request, recomputes its batch
 * id, answers a batch already in the outbox with its state, checks with one
 * `eth_call` that `payBatch` would not revert (a revert becomes a typed
 * `ContractRevertError`, a `rejected` result, and no transaction is ever
 * sent), then queues it for the sender.
 */
export class Enqueuer {
  private readonly users = new Map<string, Address>();

  constructor(
    private readonly o: SubmitterOptions,
    private readonly log: Logger,
    private readonly retry: Retry,
    private readonly kick: () => void,
  ) {}

  private refuse(err: WhitePayError): never {
    this.o.metrics.rejected.inc({ boundary: 'submit', reason: err.code });
    throw err;
  }

  async submit(input: unknown): Promise<SubmitReply> {
    let parsed: ReturnType<typeof parseSubmit>;
    try {
      parsed = parseSubmit(input);
    } catch (err) {
      this.refuse(err as SubmitRequestError);
    }
    const { request, claimedBid } = parsed;
    const user = await this.userOf(request.upkeeping);
    let bid: Hex;
    try {
      bid = batchIdOf(request, user);
    } catch (err) {
      this.refuse(err as SubmitRequestError);
    }
    if (claimedBid.toLowerCase() !== bid.toLowerCase()) {
      this.o.metrics.rejected.inc({ boundary: 'submit', reason: 'SUBMIT_TID_MISMATCH' });
      throw new SubmitRequestError(`batch id ${claimedBid} differs from the computed ${bid}`, {
        expected: bid,
      });
    }
    return this.enqueue(request, user, bid);
  }

  /** Known → its state; else the revert check, then queued (exactly once per batch id). */
  private async enqueue(request: BatchRequest, user: Address, bid: Hex): Promise<SubmitReply> {
    const log = this.log.child({ tid: bid });
    const existing = await this.o.outbox.get(bid);
    if (existing && existing.state !== 'failed' && existing.state !== 'reverted') {
      log.info({ state: existing.state }, 'submit: batch already known');
      return { tid: bid, status: existing.state, duplicate: true, txHash: existing.txs.at(-1)?.hash ?? null };
    }
    try {
      await checkPayBatch(this.o.publicClient, this.o.walletClient.account.address, request, this.retry);
    } catch (err) {
      if (err instanceof ContractRevertError) {
        log.warn({ code: err.code, args: err.details.args }, 'submit: payBatch would revert, rejected');
        this.o.metrics.rejected.inc({ boundary: 'submit', reason: err.code });
        const r = resultOf(
          { bid, user, request },
          { status: 'rejected', errorCode: err.code, errorMessage: err.message },
        );
        await this.o.payments.publish(r);
        await this.o.outbox.recordResult(r);
        this.o.metrics.payments.inc({ status: 'rejected' });
      }
      throw err;
    }
    const now = Date.now();
    const entry: OutboxEntry = {
      bid,
      user,
      state: 'queued',
      request,
      nonce: null,
      gas: null,
      txs: [],
      createdAt: now,
      updatedAt: now,
    };
    const created = await this.o.outbox.create(entry);
    if (created !== 'created') return { tid: bid, status: created, duplicate: true };
    log.info({ entries: request.entries.length }, 'submit: queued');
    this.kick();
    return { tid: bid, status: 'queued', duplicate: false };
  }

  /** The contract's `user()`, read once per contract. */
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
      // Transient failures arrive as CHAIN_RPC_UNAVAILABLE (withRetry); anything else: no such view there.
      if (err instanceof ChainError) throw err;
      throw new SubmitRequestError(`${upkeeping} is not an Upkeeping contract`, { upkeeping });
    }
  }
}
