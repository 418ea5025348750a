import { z } from 'zod';

const hex = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'expected 0x-prefixed hex bytes');
const addr = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected an address');
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'expected 32 bytes of hex');

/**
 * The submit request: the body (JSON) of a request on `<ns>.submit`, from the
 * consensus-coordinator to the chain-submitter. It is `payBatch`'s arguments
 * plus the leader position `r` common to every entry and the batch id `tid`
 * (core's `batchId`), which the chain-submitter recomputes and refuses when
 * it differs. A single payment is a batch of one: there is no other kind.
 * Exactly once per batch id.
 */
export const submitRequestSchema = z.object({
  /**
   * Accepted and ignored: what coordinators sent when a second, single kind
   * existed. Drop it from senders; it goes once none sends it.
   */
  kind: z.literal('batch').optional(),
  upkeeping: addr,
  /** Packed entries, 84 bytes each (`address pid ‖ uint64 ts ‖ uint64 te ‖ uint256 st ‖ uint128 idle`, docs/encoding.md), at least one. */
  entries: hex.refine((h) => h.length > 2, 'a batch needs at least one entry'),
  leaderId: z.number().int().min(0).max(0xffffffff),
  r: z.number().int().min(1).max(255),
  /** The registered group bytes. */
  group: hex,
  /** Strictly increasing member indices of the signers. */
  signers: z.array(z.number().int().min(0).max(255)),
  /** EIP-2537 G2 aggregate signature over core's `batchPaymentMessage` (256 bytes). */
  signature: hex,
  /** The batch id. */
  tid: bytes32,
});

/** What a sender writes (`z.input`); the chain-submitter parses it with {@link submitRequestSchema}. */
export type SubmitRequest = z.input<typeof submitRequestSchema>;

/** The state of a batch in the chain-submitter's outbox. */
export type SubmitState = 'queued' | 'signing' | 'sent' | 'confirmed' | 'reverted' | 'failed';

/**
 * The reply on `<ns>.submit`: `{ ok: true, result }` (the batch is queued,
 * in flight or final; the final result arrives on `<ns>.payments`) or
 * `{ ok: false, error: { code, kind, message, details } }`. Re-sending the
 * same request is safe.
 */
export interface SubmitReply {
  /** The batch id. */
  tid: `0x${string}`;
  status: SubmitState;
  /** True when this batch id was already known (nothing new was queued). */
  duplicate: boolean;
  txHash?: `0x${string}` | null;
}
