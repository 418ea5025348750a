import type {
  BatchCommitReply,
  BatchCommitRequest,
  BatchItem,
  BatchLeaderMessage,
  BatchProposal,
  BatchRevealReply,
  BatchSyncRequest,
} from '@whitepay/core';
import type { keeperV1 } from '@whitepay/proto';
import { type Address, bytesToHex, getAddress, type Hex, hexToBytes } from 'viem';
import { CoordinatorError } from '../errors.js';
import type { Body } from './messages.js';

/**
 * Glue between `@whitepay/core`'s batch round messages and the `Batch*`
 * bodies of `keeper.proto`. Pure; shape errors are `ROUND_MALFORMED`.
 */

/** What identifies a batch round on the wire besides the attempt. */
export interface BatchInfo {
  readonly upkeeping: Address;
  readonly bid: Hex;
  readonly user: Address;
  readonly leaderId: number;
  readonly r: number;
}

const UINT_DEC = /^(0|[1-9]\d{0,77})$/;
/** More entries than this in one batch are refused (a block of calldata, far above any real batch). */
export const MAX_BATCH_ITEMS = 256;

function malformed(what: string): CoordinatorError {
  return new CoordinatorError('ROUND_MALFORMED', `malformed batch message: ${what}`);
}

function hexOf(bytes: Uint8Array, size: number, what: string): Hex {
  if (!(bytes instanceof Uint8Array) || bytes.length !== size)
    throw malformed(`${what} must be ${size} bytes`);
  return bytesToHex(bytes);
}

function addressOf(bytes: Uint8Array, what: string): Address {
  return getAddress(hexOf(bytes, 20, what));
}

function stsOf(texts: readonly string[], what: string): bigint[] {
  if (!Array.isArray(texts) || texts.length === 0 || texts.length > MAX_BATCH_ITEMS) {
    throw malformed(`${what} must hold 1..${MAX_BATCH_ITEMS} values`);
  }
  return texts.map((t) => {
    if (typeof t !== 'string' || !UINT_DEC.test(t)) throw malformed(`${what} must be decimal uint256s`);
    const v = BigInt(t);
    if (v >= 1n << 256n) throw malformed(`${what} must be decimal uint256s`);
    return v;
  });
}

export function batchRoundIdOf(info: BatchInfo, attempt: number): keeperV1.BatchRoundId {
  return {
    bid: hexToBytes(info.bid),
    user: hexToBytes(info.user),
    leaderId: info.leaderId,
    position: info.r,
    attempt,
    upkeeping: hexToBytes(info.upkeeping),
  };
}

export function batchInfoOf(id: keeperV1.BatchRoundId | undefined): { info: BatchInfo; attempt: number } {
  if (!id) throw malformed('missing batch round id');
  if (id.position < 1 || id.position > 255) throw malformed('position must be 1..255');
  if (id.attempt < 1) throw malformed('attempt must be >= 1');
  return {
    info: {
      upkeeping: addressOf(id.upkeeping, 'upkeeping'),
      bid: hexOf(id.bid, 32, 'bid'),
      user: addressOf(id.user, 'user'),
      leaderId: id.leaderId,
      r: id.position,
    },
    attempt: id.attempt,
  };
}

function itemsOf(items: readonly keeperV1.BatchItem[]): BatchItem[] {
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_BATCH_ITEMS) {
    throw malformed(`items must hold 1..${MAX_BATCH_ITEMS} entries`);
  }
  return items.map((it, i) => {
    if (it.te <= it.ts) throw malformed(`items[${i}]: te must be after ts`);
    return { pid: addressOf(it.pid, `items[${i}].pid`), ts: it.ts, te: it.te };
  });
}

/** A batch leader broadcast as a wire body. */
export function batchLeaderMessageToBody(
  msg: BatchLeaderMessage,
  info: BatchInfo,
  includePeers = false,
): Body {
  const round = batchRoundIdOf(info, msg.attempt);
  switch (msg.kind) {
    case 'batch_commit_request':
      return {
        $case: 'batchCommitRequest',
        value: {
          round,
          items: msg.items.map((it) => ({ pid: hexToBytes(it.pid), ts: it.ts, te: it.te })),
          includePeers,
        },
      };
    case 'batch_propose':
      return {
        $case: 'batchProposeRequest',
        value: { round, sts: msg.sts.map(String), median: msg.median, proposal: msg.proposal },
      };
    case 'batch_sync_request':
      return { $case: 'batchSyncRequest', value: { round, reason: 'no_quorum' } };
  }
}

export type DecodedBatchLeaderMessage =
  | { readonly info: BatchInfo; readonly msg: BatchCommitRequest; readonly includePeers: boolean }
  | { readonly info: BatchInfo; readonly msg: BatchProposal }
  | { readonly info: BatchInfo; readonly msg: BatchSyncRequest };

/** Whether a body is one of a batch leader's messages. */
export function isBatchLeaderBody(body: Body | undefined): boolean {
  return (
    body?.$case === 'batchCommitRequest' ||
    body?.$case === 'batchProposeRequest' ||
    body?.$case === 'batchSyncRequest'
  );
}

export function bodyToBatchLeaderMessage(body: Body | undefined): DecodedBatchLeaderMessage {
  switch (body?.$case) {
    case 'batchCommitRequest': {
      const { info, attempt } = batchInfoOf(body.value.round);
      const msg: BatchCommitRequest = {
        kind: 'batch_commit_request',
        bid: info.bid,
        attempt,
        user: info.user,
        leaderId: info.leaderId,
        r: info.r,
        items: itemsOf(body.value.items),
      };
      return { info, msg, includePeers: body.value.includePeers };
    }
    case 'batchProposeRequest': {
      const { info, attempt } = batchInfoOf(body.value.round);
      const { proposal } = body.value;
      if (proposal !== 1 && proposal !== 2) throw malformed('proposal must be 1 or 2');
      const msg: BatchProposal = {
        kind: 'batch_propose',
        bid: info.bid,
        attempt,
        proposal,
        sts: stsOf(body.value.sts, 'sts'),
        median: body.value.median,
      };
      return { info, msg };
    }
    case 'batchSyncRequest': {
      const { info, attempt } = batchInfoOf(body.value.round);
      return { info, msg: { kind: 'batch_sync_request', bid: info.bid, attempt } };
    }
    default:
      throw new CoordinatorError(
        'ROUND_UNEXPECTED_MESSAGE',
        `expected a batch leader's message, got ${body?.$case ?? 'nothing'}`,
      );
  }
}

export function batchCommitReplyToBody(reply: BatchCommitReply, info: BatchInfo): Body {
  return {
    $case: 'batchCommitReply',
    value: { round: batchRoundIdOf(info, reply.attempt), commitment: hexToBytes(reply.commitment) },
  };
}

export function batchRevealToBody(reveal: BatchRevealReply, info: BatchInfo): Body {
  return {
    $case: 'batchProposeReply',
    value: {
      round: batchRoundIdOf(info, reveal.attempt),
      sts: reveal.sts.map(String),
      nonce: hexToBytes(reveal.nonce),
      approve: reveal.approve,
      blsSignature: reveal.signature === undefined ? new Uint8Array() : hexToBytes(reveal.signature),
      proposal: reveal.proposal,
    },
  };
}

export function batchSyncReplyToBody(info: BatchInfo, attempt: number, accepted: number): Body {
  return { $case: 'batchSyncReply', value: { round: batchRoundIdOf(info, attempt), accepted } };
}

export type DecodedBatchReply =
  | { readonly type: 'commit'; readonly msg: BatchCommitReply }
  | { readonly type: 'reveal'; readonly msg: BatchRevealReply }
  | { readonly type: 'synced'; readonly bid: Hex; readonly attempt: number; readonly accepted: number }
  | { readonly type: 'error'; readonly code: string; readonly message: string };

/** A member's wire reply to a batch message (shape only; the reducer judges the rest). */
export function bodyToBatchReply(body: Body | undefined): DecodedBatchReply {
  switch (body?.$case) {
    case 'batchCommitReply': {
      const { info, attempt } = batchInfoOf(body.value.round);
      return {
        type: 'commit',
        msg: {
          kind: 'batch_commit',
          bid: info.bid,
          attempt,
          commitment: hexOf(body.value.commitment, 32, 'commitment'),
        },
      };
    }
    case 'batchProposeReply': {
      const v = body.value;
      const { info, attempt } = batchInfoOf(v.round);
      const base = {
        kind: 'batch_reveal',
        bid: info.bid,
        attempt,
        proposal: v.proposal,
        sts: stsOf(v.sts, 'sts'),
        nonce: hexOf(v.nonce, 32, 'nonce'),
        approve: v.approve,
      } as const;
      const msg: BatchRevealReply =
        v.blsSignature.length === 0 ? base : { ...base, signature: bytesToHex(v.blsSignature) };
      return { type: 'reveal', msg };
    }
    case 'batchSyncReply': {
      const { info, attempt } = batchInfoOf(body.value.round);
      return { type: 'synced', bid: info.bid, attempt, accepted: body.value.accepted };
    }
    case 'error':
      return { type: 'error', code: body.value.code, message: body.value.message };
    default:
      throw new CoordinatorError(
        'ROUND_UNEXPECTED_MESSAGE',
        `expected a member's batch reply, got ${body?.$case ?? 'nothing'}`,
      );
  }
}

export function sameBatch(a: BatchInfo, b: BatchInfo): boolean {
  return (
    a.bid.toLowerCase() === b.bid.toLowerCase() &&
    a.upkeeping.toLowerCase() === b.upkeeping.toLowerCase() &&
    a.user.toLowerCase() === b.user.toLowerCase() &&
    a.leaderId === b.leaderId &&
    a.r === b.r
  );
}
