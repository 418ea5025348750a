import { submitRequestSchema } from '@whitepay/bus';
import { decodeBatchEntries, roundId } from '@whitepay/core';
import { type Address, getAddress, type Hex } from 'viem';
import { SubmitRequestError } from '../../errors.js';
import type { BatchRequest } from '../outbox.js';

/** A parsed submit request: the batch, and the batch id the sender claims. */
export interface ParsedSubmit {
  request: BatchRequest;
  claimedBid: Hex;
}

/**
 * Parses a `<ns>.submit` body with packages/bus's `submitRequestSchema`
 * and unpacks its entries into the outbox's list.
 *
 * @throws SubmitRequestError on a malformed body or entries.
 */
export function parseSubmit(input: unknown): ParsedSubmit {
  const parsed = submitRequestSchema.safeParse(input);
  if (!parsed.success) {
    throw new SubmitRequestError(
      parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    );
  }
  const p = parsed.data;
  let entries: BatchRequest['entries'];
  try {
    entries = decodeBatchEntries(p.entries as Hex).map((e) => ({
      pid: e.pid,
      ts: e.ts.toString(),
      te: e.te.toString(),
      st: e.st.toString(),
      ...(e.idle === 0n ? {} : { idle: e.idle.toString() }),
    }));
  } catch (err) {
    throw new SubmitRequestError((err as Error).message);
  }
  return {
    request: {
      upkeeping: getAddress(p.upkeeping),
      entries,
      leaderId: p.leaderId,
      r: p.r,
      group: p.group as Hex,
      signers: p.signers,
      signature: p.signature as Hex,
    },
    claimedBid: p.tid as Hex,
  };
}

/**
 * The batch id of a request (core's `roundId` over `user`, the leader, `r`
 * and the entries' `(pid, ts, te)`).
 *
 * @throws SubmitRequestError when the entries cannot form a batch (a provider twice, `te <= ts`, …).
 */
export function batchIdOf(req: BatchRequest, user: Address): Hex {
  try {
    return roundId({
      user,
      leaderId: req.leaderId,
      r: req.r,
      items: req.entries.map((e) => ({ pid: e.pid, ts: BigInt(e.ts), te: BigInt(e.te) })),
    });
  } catch (err) {
    throw new SubmitRequestError((err as Error).message);
  }
}
