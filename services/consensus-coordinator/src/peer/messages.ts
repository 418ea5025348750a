import {
  type CommitReply,
  type CommitRequest,
  type LeaderMessage,
  MAX_ROUND_ENTRIES,
  type Proposal,
  type RecordRef,
  type RevealReply,
  type RoundItem,
  type SyncRequest,
  UINT128_MAX,
  UINT256_MAX,
} from '@whitepay/core';
import type { keeperV1 } from '@whitepay/proto';
import { type Address, bytesToHex, getAddress, type Hex, hexToBytes } from 'viem';
import { CoordinatorError } from '../errors.js';

/**
 * Glue between `@whitepay/core`'s round messages and the protobuf
 * `PeerMessage` bodies of `keeper.proto` (one family for every round, a list
 * of `k >= 1` entries). Pure: no I/O, no clock. Everything decoded from the
 * wire is checked here for shape (sizes, decimal strings, at most core's
 * `MAX_ROUND_ENTRIES` entries) and refused with a typed `ROUND_MALFORMED`;
 * protocol checks stay in core's reducer.
 */

/** What identifies a round on the wire besides the attempt (the entries travel in the commit request). */
export interface RoundInfo {
  readonly upkeeping: Address;
  /** core's `roundId` of (user, leaderId, r, items). */
  readonly tid: Hex;
  readonly user: Address;
  readonly leaderId: number;
  /** The leader's 1-based position. */
  readonly r: number;
}

export type Body = NonNullable<keeperV1.PeerMessage['body']>;

/**
 * A proposal's idle sets (SPEC 3 item 5), per entry in order: the bitmap over
 * member indices the signed entry carries, and the record that vouches for
 * every member not in it.
 */
export interface IdleProposal {
  readonly bits: readonly bigint[];
  readonly active: readonly (readonly RecordRef[])[];
}

/** Most references per entry on the wire (a group has at most 128 members). */
export const MAX_REFS_PER_ENTRY = 128;

const UINT_DEC = /^(0|[1-9]\d{0,77})$/;

function malformed(what: string): CoordinatorError {
  return new CoordinatorError('ROUND_MALFORMED', `malformed round message: ${what}`);
}

function hexOf(bytes: Uint8Array, size: number, what: string): Hex {
  if (!(bytes instanceof Uint8Array) || bytes.length !== size)
    throw malformed(`${what} must be ${size} bytes`);
  return bytesToHex(bytes);
}

function addressOf(bytes: Uint8Array, what: string): Address {
  return getAddress(hexOf(bytes, 20, what));
}

/**
 * A list of decimal unsigned integers of `bits` bits, `minLength`..MAX_ROUND_ENTRIES of them: the st
 * vector (uint256, at least one) and the idle bitmaps (uint128) of a round message.
 */
function uintsOf(texts: readonly string[], what: string, bits: 128 | 256, minLength: 0 | 1): bigint[] {
  if (!Array.isArray(texts) || texts.length < minLength || texts.length > MAX_ROUND_ENTRIES) {
    throw malformed(
      minLength === 1
        ? `${what} must hold 1..${MAX_ROUND_ENTRIES} values`
        : `${what} must hold at most ${MAX_ROUND_ENTRIES} values`,
    );
  }
  const max = bits === 128 ? UINT128_MAX : UINT256_MAX;
  return texts.map((t) => {
    if (typeof t !== 'string' || !UINT_DEC.test(t) || BigInt(t) > max)
      throw malformed(`${what} must be decimal uint${bits}s`);
    return BigInt(t);
  });
}

const stsOf = (texts: readonly string[], what: string): bigint[] => uintsOf(texts, what, 256, 1);

function refsToWire(list: readonly (readonly RecordRef[])[]): keeperV1.RecordRefs[] {
  return list.map((refs) => ({ refs: refs.map((r) => ({ keeperId: r.keeperId, block: r.block })) }));
}

function refsOf(list: readonly keeperV1.RecordRefs[], what: string): RecordRef[][] {
  if (!Array.isArray(list) || list.length > MAX_ROUND_ENTRIES)
    throw malformed(`${what} must hold at most ${MAX_ROUND_ENTRIES} entries`);
  return list.map((e, i) => {
    if (!Array.isArray(e.refs) || e.refs.length > MAX_REFS_PER_ENTRY)
      throw malformed(`${what}[${i}] must hold at most ${MAX_REFS_PER_ENTRY} references`);
    return e.refs.map((r: { keeperId: number; block: bigint }) => ({ keeperId: r.keeperId, block: r.block }));
  });
}

export function roundIdOf(info: RoundInfo, attempt: number): keeperV1.RoundId {
  return {
    tid: hexToBytes(info.tid),
    user: hexToBytes(info.user),
    leaderId: info.leaderId,
    position: info.r,
    attempt,
    upkeeping: hexToBytes(info.upkeeping),
  };
}

/** The round and attempt a wire `RoundId` names, checked for shape. */
export function roundInfoOf(id: keeperV1.RoundId | undefined): { info: RoundInfo; attempt: number } {
  if (!id) throw malformed('missing round id');
  if (id.position < 1 || id.position > 255) throw malformed('position must be 1..255');
  if (id.attempt < 1) throw malformed('attempt must be >= 1');
  return {
    info: {
      upkeeping: addressOf(id.upkeeping, 'upkeeping'),
      tid: hexOf(id.tid, 32, 'tid'),
      user: addressOf(id.user, 'user'),
      leaderId: id.leaderId,
      r: id.position,
    },
    attempt: id.attempt,
  };
}

function itemsOf(items: readonly keeperV1.RoundItem[]): RoundItem[] {
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_ROUND_ENTRIES) {
    throw malformed(`items must hold 1..${MAX_ROUND_ENTRIES} entries`);
  }
  return items.map((it, i) => {
    if (it.te <= it.ts) throw malformed(`items[${i}]: te must be after ts`);
    return { pid: addressOf(it.pid, `items[${i}].pid`), ts: it.ts, te: it.te };
  });
}

/**
 * A leader broadcast as a wire body. `includePeers` marks commit requests after a full sync; a proposal
 * carries the attempt's idle sets.
 */
export function leaderMessageToBody(
  msg: LeaderMessage,
  info: RoundInfo,
  includePeers = false,
  idle?: IdleProposal,
): Body {
  const round = roundIdOf(info, msg.attempt);
  switch (msg.kind) {
    case 'commit_request':
      return {
        $case: 'commitRequest',
        value: {
          round,
          items: msg.items.map((it) => ({ pid: hexToBytes(it.pid), ts: it.ts, te: it.te })),
          includePeers,
        },
      };
    case 'propose':
      return {
        $case: 'proposeRequest',
        value: {
          round,
          sts: msg.sts.map(String),
          median: msg.median,
          proposal: msg.proposal,
          idle: (idle?.bits ?? []).map(String),
          active: refsToWire(idle?.active ?? []),
        },
      };
    case 'sync_request':
      return { $case: 'syncRequest', value: { round, reason: 'no_quorum' } };
  }
}

export type DecodedLeaderMessage =
  | { readonly info: RoundInfo; readonly msg: CommitRequest; readonly includePeers: boolean }
  | { readonly info: RoundInfo; readonly msg: Proposal; readonly idle: IdleProposal }
  | { readonly info: RoundInfo; readonly msg: SyncRequest };

/** A leader's wire body as core's message; anything else is `ROUND_UNEXPECTED_MESSAGE`. */
export function bodyToLeaderMessage(body: Body | undefined): DecodedLeaderMessage {
  switch (body?.$case) {
    case 'commitRequest': {
      const { info, attempt } = roundInfoOf(body.value.round);
      const msg: CommitRequest = {
        kind: 'commit_request',
        tid: info.tid,
        attempt,
        user: info.user,
        leaderId: info.leaderId,
        r: info.r,
        items: itemsOf(body.value.items),
      };
      return { info, msg, includePeers: body.value.includePeers };
    }
    case 'proposeRequest': {
      const { info, attempt } = roundInfoOf(body.value.round);
      const { proposal } = body.value;
      if (proposal !== 1 && proposal !== 2) throw malformed('proposal must be 1 or 2');
      const msg: Proposal = {
        kind: 'propose',
        tid: info.tid,
        attempt,
        proposal,
        sts: stsOf(body.value.sts, 'sts'),
        median: body.value.median,
      };
      const idle = {
        bits: uintsOf(body.value.idle, 'idle', 128, 0),
        active: refsOf(body.value.active, 'active'),
      };
      if (idle.bits.length !== msg.sts.length || idle.active.length !== msg.sts.length)
        throw malformed('idle and active must hold one value per entry');
      return { info, msg, idle };
    }
    case 'syncRequest': {
      const { info, attempt } = roundInfoOf(body.value.round);
      return { info, msg: { kind: 'sync_request', tid: info.tid, attempt } };
    }
    default:
      throw new CoordinatorError(
        'ROUND_UNEXPECTED_MESSAGE',
        `expected a leader's round message, got ${body?.$case ?? 'nothing'}`,
      );
  }
}

/** A commitment as a wire body, with the member's vouches per entry (SPEC 3 item 5). */
export function commitReplyToBody(
  reply: CommitReply,
  info: RoundInfo,
  vouches: readonly (readonly RecordRef[])[] = [],
): Body {
  return {
    $case: 'commitReply',
    value: {
      round: roundIdOf(info, reply.attempt),
      commitment: hexToBytes(reply.commitment),
      vouches: refsToWire(vouches),
    },
  };
}

/** A reveal as a wire body; the signature (compressed G2 hex) travels as its bytes. */
export function revealToBody(reveal: RevealReply, info: RoundInfo): Body {
  return {
    $case: 'proposeReply',
    value: {
      round: roundIdOf(info, reveal.attempt),
      sts: reveal.sts.map(String),
      nonce: hexToBytes(reveal.nonce),
      approve: reveal.approve,
      blsSignature: reveal.signature === undefined ? new Uint8Array() : hexToBytes(reveal.signature),
      proposal: reveal.proposal,
    },
  };
}

export function syncReplyToBody(info: RoundInfo, attempt: number, accepted: number): Body {
  return { $case: 'syncReply', value: { round: roundIdOf(info, attempt), accepted } };
}

export type DecodedReply =
  | { readonly type: 'commit'; readonly msg: CommitReply; readonly vouches: RecordRef[][] }
  | { readonly type: 'reveal'; readonly msg: RevealReply }
  | { readonly type: 'synced'; readonly tid: Hex; readonly attempt: number; readonly accepted: number }
  | { readonly type: 'error'; readonly code: string; readonly message: string };

/**
 * A member's wire reply as core's message (or the member's typed error).
 * Only shape is checked here; whether it belongs to the round is the
 * reducer's business (it rejects another tid/attempt/proposal itself).
 */
export function bodyToReply(body: Body | undefined): DecodedReply {
  switch (body?.$case) {
    case 'commitReply': {
      const { info, attempt } = roundInfoOf(body.value.round);
      return {
        type: 'commit',
        msg: {
          kind: 'commit',
          tid: info.tid,
          attempt,
          commitment: hexOf(body.value.commitment, 32, 'commitment'),
        },
        vouches: refsOf(body.value.vouches, 'vouches'),
      };
    }
    case 'proposeReply': {
      const v = body.value;
      const { info, attempt } = roundInfoOf(v.round);
      const base = {
        kind: 'reveal',
        tid: info.tid,
        attempt,
        proposal: v.proposal,
        sts: stsOf(v.sts, 'sts'),
        nonce: hexOf(v.nonce, 32, 'nonce'),
        approve: v.approve,
      } as const;
      // An approval without a signature reaches the reducer as such (it rejects it as missing_signature).
      const msg: RevealReply =
        v.blsSignature.length === 0 ? base : { ...base, signature: bytesToHex(v.blsSignature) };
      return { type: 'reveal', msg };
    }
    case 'syncReply': {
      const { info, attempt } = roundInfoOf(body.value.round);
      return { type: 'synced', tid: info.tid, attempt, accepted: body.value.accepted };
    }
    case 'error':
      return { type: 'error', code: body.value.code, message: body.value.message };
    default:
      throw new CoordinatorError(
        'ROUND_UNEXPECTED_MESSAGE',
        `expected a member's round reply, got ${body?.$case ?? 'nothing'}`,
      );
  }
}

/** Whether two round infos name the same round (addresses compared case-insensitively). */
export function sameRound(a: RoundInfo, b: RoundInfo): boolean {
  return (
    a.tid.toLowerCase() === b.tid.toLowerCase() &&
    a.upkeeping.toLowerCase() === b.upkeeping.toLowerCase() &&
    a.user.toLowerCase() === b.user.toLowerCase() &&
    a.leaderId === b.leaderId &&
    a.r === b.r
  );
}
