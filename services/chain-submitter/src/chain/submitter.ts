import type { SubmitReply } from '@whitepay/bus';
import type { Address } from 'viem';
import { withRetry } from './retry.js';
import { Enqueuer } from './submit/enqueue.js';
import type { Retry, SubmitterOptions } from './submit/options.js';
import { Sender } from './submit/sender.js';

export type { SubmitReply } from '@whitepay/bus';
export type { SubmitterOptions } from './submit/options.js';

/**
 * Submits batches exactly once in effect (SPEC 10 "never pays twice"); a
 * single payment is a batch of one. The parts, one module each under
 * `submit/`:
 *
 * | module | what |
 * | --- | --- |
 * | `request.ts` | the `<ns>.submit` body (packages/bus's schema) → the outbox's batch, its id |
 * | `enqueue.ts` | the submit path (any replica): known → its state; `eth_call` revert check; queued |
 * | `sender.ts` | the sender loop (lock holder): estimate, nonce, sign, store, broadcast, watch, finish |
 * | `calls.ts` | `payBatch`'s calldata, the `eth_call` and the `eth_estimateGas` |
 * | `revert.ts` | viem errors → the ABI-decoded `ContractRevertError` (by type, `walk`) |
 * | `fees.ts` | EIP-1559 fees, replacements, the cap |
 * | `broadcast.ts` | local signing, `eth_sendRawTransaction`, "the node has this nonce" by type |
 * | `receipts.ts` | receipts, the settlement from a receipt's logs, a settlement by an unknown transaction |
 * | `result.ts` | the result published on `<ns>.payments` |
 */
export class Submitter {
  private readonly enqueuer: Enqueuer;
  private readonly sender: Sender;

  constructor(private readonly o: SubmitterOptions) {
    const log = o.log.child({ component: 'submitter', account: o.walletClient.account.address });
    const retry: Retry = (what, fn) => withRetry(fn, { retries: o.rpcRetries, log, what });
    this.sender = new Sender(o, log, retry);
    this.enqueuer = new Enqueuer(o, log, retry, () => this.sender.kick());
  }

  get account(): Address {
    return this.o.walletClient.account.address;
  }

  isHolder(): boolean {
    return this.sender.isHolder();
  }

  start(): void {
    this.sender.start();
  }

  stop(opts: { release?: boolean } = {}): Promise<void> {
    return this.sender.stop(opts);
  }

  /** Runs the sender loop now instead of at the next interval. */
  kick(): void {
    this.sender.kick();
  }

  /** One step of the sender (tests drive it). */
  tick(): Promise<void> {
    return this.sender.tick();
  }

  /** Validates and queues a `<ns>.submit` request (see `Enqueuer`). */
  submit(input: unknown): Promise<SubmitReply> {
    return this.enqueuer.submit(input);
  }
}
