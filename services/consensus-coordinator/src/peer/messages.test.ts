import { MAX_ROUND_ENTRIES, roundId } from '@whitepay/core';
import { keeperV1 } from '@whitepay/proto';
import { type Address, getAddress, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { CoordinatorError } from '../errors.js';
import {
  type Body,
  bodyToLeaderMessage,
  bodyToReply,
  commitReplyToBody,
  leaderMessageToBody,
  type RoundInfo,
  revealToBody,
  sameRound,
  syncReplyToBody,
} from './messages.js';

const user: Address = getAddress('0x00000000000000000000000000000000000000a1');
const upkeeping: Address = getAddress('0x00000000000000000000000000000000000000c3');
const items = [
  { pid: getAddress('0x00000000000000000000000000000000000000b2'), ts: 100n, te: 120n },
  { pid: getAddress('0x00000000000000000000000000000000000000b3'), ts: 90n, te: 120n },
];
const tid = roundId({ user, leaderId: 7, r: 2, items });
const info: RoundInfo = { upkeeping, tid, user, leaderId: 7, r: 2 };
const nonce = `0x${'11'.repeat(32)}` as Hex;

function wire(body: Body): Body {
  return keeperV1.PeerMessage.decode(keeperV1.PeerMessage.encode({ sequence: 1n, body }).finish()).body!;
}

function code(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(CoordinatorError);
    return (err as CoordinatorError).code;
  }
}

describe('round body ↔ reducer message mapping', () => {
  it('round-trips the leader messages', () => {
    const commit = {
      kind: 'commit_request',
      tid,
      attempt: 2,
      user,
      leaderId: 7,
      r: 2,
      items,
    } as const;
    const body = wire(leaderMessageToBody(commit, info, true));
    expect(bodyToLeaderMessage(body)).toEqual({ info, msg: commit, includePeers: true });
    const propose = {
      kind: 'propose',
      tid,
      attempt: 1,
      proposal: 2,
      sts: [5n, 2n ** 200n],
      median: true,
    } as const;
    const idle = {
      bits: [0n, (1n << 127n) | 1n],
      active: [[{ keeperId: 7, block: 12n }], [{ keeperId: 3, block: 2n ** 63n }]],
    };
    expect(bodyToLeaderMessage(wire(leaderMessageToBody(propose, info, false, idle)))).toEqual({
      info,
      msg: propose,
      idle,
    });
    // A proposal without one idle set per entry, or with a bitmap beyond 128 members, is malformed.
    expect(() => bodyToLeaderMessage(wire(leaderMessageToBody(propose, info)))).toThrow(
      /one value per entry/,
    );
    expect(() =>
      bodyToLeaderMessage(
        wire(leaderMessageToBody(propose, info, false, { bits: [0n, 1n << 128n], active: [[], []] })),
      ),
    ).toThrow(/uint128/);
    const sync = { kind: 'sync_request', tid, attempt: 3 } as const;
    expect(bodyToLeaderMessage(wire(leaderMessageToBody(sync, info)))).toEqual({ info, msg: sync });
  });

  it('round-trips the replies', () => {
    const c = { kind: 'commit', tid, attempt: 1, commitment: nonce } as const;
    expect(bodyToReply(wire(commitReplyToBody(c, info)))).toEqual({ type: 'commit', msg: c, vouches: [] });
    const vouches = [[{ keeperId: 2, block: 9n }], []];
    expect(bodyToReply(wire(commitReplyToBody(c, info, vouches)))).toEqual({
      type: 'commit',
      msg: c,
      vouches,
    });
    const r = {
      kind: 'reveal',
      tid,
      attempt: 1,
      proposal: 1,
      sts: [1n, 2n],
      nonce,
      approve: false,
    } as const;
    expect(bodyToReply(wire(revealToBody(r, info)))).toEqual({ type: 'reveal', msg: r });
    const signed = { ...r, approve: true, signature: `0x${'ab'.repeat(96)}` as Hex };
    expect(bodyToReply(wire(revealToBody(signed, info)))).toEqual({ type: 'reveal', msg: signed });
    expect(bodyToReply(wire(syncReplyToBody(info, 2, 5)))).toEqual({
      type: 'synced',
      tid,
      attempt: 2,
      accepted: 5,
    });
    expect(bodyToReply({ $case: 'error', value: { code: 'X', message: 'y' } })).toEqual({
      type: 'error',
      code: 'X',
      message: 'y',
    });
  });

  it('refuses malformed bodies with typed errors', () => {
    const propose = leaderMessageToBody(
      { kind: 'propose', tid, attempt: 1, proposal: 1, sts: [1n], median: false },
      info,
    ) as Extract<Body, { $case: 'proposeRequest' }>;
    const bad = (value: Partial<keeperV1.ProposeRequest>) =>
      code(() => bodyToLeaderMessage({ ...propose, value: { ...propose.value, ...value } }));
    expect(bad({ sts: [] })).toBe('ROUND_MALFORMED');
    expect(bad({ sts: ['-1'] })).toBe('ROUND_MALFORMED');
    expect(bad({ sts: [(1n << 256n).toString()] })).toBe('ROUND_MALFORMED');
    expect(bad({ proposal: 3 })).toBe('ROUND_MALFORMED');
    expect(bad({ round: undefined })).toBe('ROUND_MALFORMED');
    expect(bad({ round: { ...propose.value.round!, position: 0 } })).toBe('ROUND_MALFORMED');
    expect(bad({ round: { ...propose.value.round!, attempt: 0 } })).toBe('ROUND_MALFORMED');
    expect(bad({ round: { ...propose.value.round!, tid: new Uint8Array(3) } })).toBe('ROUND_MALFORMED');
    const commit = leaderMessageToBody(
      { kind: 'commit_request', tid, attempt: 1, user, leaderId: 7, r: 2, items },
      info,
    ) as Extract<Body, { $case: 'commitRequest' }>;
    const badItems = (its: keeperV1.RoundItem[]) =>
      code(() => bodyToLeaderMessage({ ...commit, value: { ...commit.value, items: its } }));
    expect(badItems([])).toBe('ROUND_MALFORMED');
    expect(badItems([{ pid: new Uint8Array(20), ts: 5n, te: 5n }])).toBe('ROUND_MALFORMED');
    expect(code(() => bodyToLeaderMessage({ $case: 'ack', value: { ok: true } }))).toBe(
      'ROUND_UNEXPECTED_MESSAGE',
    );
    expect(code(() => bodyToReply(undefined))).toBe('ROUND_UNEXPECTED_MESSAGE');
  });

  it('takes up to MAX_ROUND_ENTRIES entries and values, the leader`s limit too (no 256 cap)', () => {
    const many = (k: number) =>
      Array.from({ length: k }, (_, i) => ({
        pid: getAddress(`0x${(i + 1).toString(16).padStart(40, '0')}`),
        ts: 100n,
        te: 120n,
      }));
    const commitOf = (k: number) =>
      wire(
        leaderMessageToBody(
          { kind: 'commit_request', tid, attempt: 1, user, leaderId: 7, r: 2, items: many(k) },
          info,
        ),
      );
    for (const k of [1, 257, 600, MAX_ROUND_ENTRIES]) {
      const decoded = bodyToLeaderMessage(commitOf(k));
      expect(decoded.msg.kind === 'commit_request' && decoded.msg.items.length).toBe(k);
      const reveal = wire(
        revealToBody(
          { kind: 'reveal', tid, attempt: 1, proposal: 1, sts: many(k).map(() => 5n), nonce, approve: false },
          info,
        ),
      );
      const r = bodyToReply(reveal);
      expect(r.type === 'reveal' && r.msg.sts.length).toBe(k);
    }
    expect(code(() => bodyToLeaderMessage(commitOf(MAX_ROUND_ENTRIES + 1)))).toBe('ROUND_MALFORMED');
  });

  it('sameRound compares addresses case-insensitively', () => {
    expect(sameRound(info, { ...info, user: user.toLowerCase() as Address })).toBe(true);
    expect(sameRound(info, { ...info, r: 3 })).toBe(false);
  });
});
