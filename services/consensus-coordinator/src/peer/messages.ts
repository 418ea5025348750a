import type {
  CommitReply,
  CommitRequest,
  LeaderMessage,
  Proposal,
  RevealReply,
  SyncRequest,
} from '@whitepay/core';
import type { keeperV1 } from '@whitepay/proto';
import { type Address, bytesToHex, getAddress, type Hex, hexToBytes } from 'viem';
import { CoordinatorError } from '../errors.js';

/**
 * Glue between `@whitepay/core`'s round messages and the protobuf
 * `PeerMessage` bodies of `keeper.proto`. Pure: no I/O, no clock. Everything
 * decoded from the wire is checked here (sizes, decimal strings) and refused
 * with a typed `ROUND_MALFORMED`; protocol checks stay in core's reducer.
 */

/** What identifies a round on the wire besides the attempt. */
export interface RoundInfo {
  readonly upkeeping: Address;
  readonly tid: Hex;
  readonly user: Address;
  readonly pid: Address;
  readonly ts: bigint;
  readonly te: bigint;
  readonly leaderId: number;
  /** The leader's 1-based position. */
  readonly r: number;
}

export type Body = NonNullable<keeperV1.PeerMessage['body']>;

const UINT_DEC = /^(0|[1-9]\d{0,77})$/;

function malformed(what: string): CoordinatorError {
  return new CoordinatorError('ROUND_MALFORMED', `malformed round message: ${what}`);
}

function bytesOf(hex: Hex): Uint8Array {
  return hexToBytes(hex);
}

function hexOf(bytes: Uint8Array, size: number, what: string): Hex {
  if (!(bytes instanceof Uint8Array) || bytes.length !== size)
    throw malformed(`${what} must be ${size} bytes`);
  return bytesToHex(bytes);
}

function addressOf(bytes: Uint8Array, what: string): Address {
  return getAddress(hexOf(bytes, 20, what));
}

function stOf(text: string, what: string): bigint {
  if (typeof text !== 'string' || !UINT_DEC.test(text)) throw malformed(`${what} must be a decimal uint256`);
  const v = BigInt(text);
  if (v >= 1n << 256n) throw malformed(`${what} must be a decimal uint256`);
  return v;
}

export function roundIdOf(info: RoundInfo, attempt: number): keeperV1.RoundId {
  return {
    tid: bytesOf(info.tid),
    user: bytesOf(info.user),
    pid: bytesOf(info.pid),
    ts: info.ts,
    te: info.te,
    leaderId: info.leaderId,
    position: info.r,
    attempt,
    upkeeping: bytesOf(info.upkeeping),
  };
}

/** The round and attempt a wire `RoundId` names, checked for shape. */
export function roundInfoOf(id: keeperV1.RoundId | undefined): { info: RoundInfo; attempt: number } {
  if (!id) throw malformed('missing round id');
  if (id.position < 1 || id.position > 255) throw malformed('position must be 1..255');
  if (id.attempt < 1) throw malformed('attempt must be >= 1');
  if (id.te <= id.ts) throw malformed('te must be after ts');
  return {
    info: {
      upkeeping: addressOf(id.upkeeping, 'upkeeping'),
      tid: hexOf(id.tid, 32, 'tid'),
      user: addressOf(id.user, 'user'),
      pid: addressOf(id.pid, 'pid'),
      ts: id.ts,
      te: id.te,
      leaderId: id.leaderId,
      r: id.position,
    },
    attempt: id.attempt,
  };
}

/** A leader broadcast as a wire body. `includePeers` marks commit requests after a full sync. */
export function leaderMessageToBody(msg: LeaderMessage, info: RoundInfo, includePeers = false): Body {
  const round = roundIdOf(info, msg.attempt);
  switch (msg.kind) {
    case 'commit_request':
      return { $case: 'commitRequest', value: { round, includePeers } };
    case 'propose':
      return {
        $case: 'proposeRequest',
        value: { round, st: msg.st.toString(), median: msg.median, proposal: msg.proposal },
      };
    case 'sync_request':
      return { $case: 'syncRequest', value: { round, reason: 'no_quorum' } };
  }
}

export type DecodedLeaderMessage =
  | { readonly info: RoundInfo; readonly msg: CommitRequest; readonly includePeers: boolean }
  | { readonly info: RoundInfo; readonly msg: Proposal }
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
        pid: info.pid,
        ts: info.ts,
        te: info.te,
        leaderId: info.leaderId,
        r: info.r,
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
        st: stOf(body.value.st, 'st'),
        median: body.value.median,
      };
      return { info, msg };
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

export function commitReplyToBody(reply: CommitReply, info: RoundInfo): Body {
  return {
    $case: 'commitReply',
    value: { round: roundIdOf(info, reply.attempt), commitment: bytesOf(reply.commitment) },
  };
}

/** A reveal as a wire body; the signature (compressed G2 hex) travels as its bytes. */
export function revealToBody(reveal: RevealReply, info: RoundInfo): Body {
  return {
    $case: 'proposeReply',
    value: {
      round: roundIdOf(info, reveal.attempt),
      st: reveal.st.toString(),
      nonce: bytesOf(reveal.nonce),
      approve: reveal.approve,
      blsSignature: reveal.signature === undefined ? new Uint8Array() : bytesOf(reveal.signature),
      proposal: reveal.proposal,
    },
  };
}

export function syncReplyToBody(info: RoundInfo, attempt: number, accepted: number): Body {
  return { $case: 'syncReply', value: { round: roundIdOf(info, attempt), accepted } };
}

export type DecodedReply =
  | { readonly type: 'commit'; readonly msg: CommitReply }
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
        st: stOf(v.st, 'st'),
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
    a.pid.toLowerCase() === b.pid.toLowerCase() &&
    a.ts === b.ts &&
    a.te === b.te &&
    a.leaderId === b.leaderId &&
    a.r === b.r
  );
}
