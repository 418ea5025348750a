import type { Logger } from '@whitepay/base';
import type { Hex, PublicClient } from 'viem';
import type { SenderWallet } from '../../app.js';
import type { Metrics } from '../../metrics.js';
import type { PaymentPublisher } from '../../nats/payments.js';
import type { SenderLock } from '../lock.js';
import type { Outbox } from '../outbox.js';

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
  afterBroadcast?: (bid: Hex, hash: Hex) => Promise<void>;
}

/** Retries transient RPC errors (see `withRetry`), `what` naming the call in logs and errors. */
export type Retry = <T>(what: string, fn: () => Promise<T>) => Promise<T>;
