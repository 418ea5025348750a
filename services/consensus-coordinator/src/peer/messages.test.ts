import { publicKeyOf, secretKeyFromSeed, sign, toHex, verify } from '@whitepay/bls';
import {
  createLeaderRound,
  followerCommit,
  followerRespond,
  type LeaderState,
  leaderReducer,
  paymentMessage,
  tid as tidOf,
} from '@whitepay/core';
import { keeperV1 } from '@whitepay/proto';
import { type Address, getAddress, type Hex, hexToBytes } from 'viem';
import { describe, expect, it } from 'vitest';
import { CoordinatorError } from '../errors.js';
import { aggregateApprovals, currentMessage } from '../round/leader.js';
import {
  type Body,
  bodyToLeaderMessage,
  bodyToReply,
  commitReplyToBody,
  leaderMessageToBody,
  type RoundInfo,
  revealToBody,
  roundInfoOf,
  sameRound,
  syncReplyToBody,
} from './messages.js';

const user: Address = getAddress('0x00000000000000000000000000000000000000a1');
const pid: Address = getAddress('0x00000000000000000000000000000000000000b2');
const upkeeping: Address = getAddress('0x00000000000000000000000000000000000000c3');
const base = { user, pid, ts: 100n, te: 120n, leaderId: 7, r: 2 };
const info: RoundInfo = { ...base, upkeeping, tid: tidOf(base) };
const nonce = `0x${'11'.repeat(32)}` as Hex;

/** Through the protobuf bytes, as the wire does. */
function wire(body: Body): Body {
  const bytes = keeperV1.PeerMessage.encode({ sequence: 1n, body }).finish();
  return keeperV1.PeerMessage.decode(bytes).body!;
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

describe('envelope body ↔ reducer message mapping', () => {
  it('round-trips every leader message through the wire', () => {
    const state = leaderReducer(
      createLeaderRound({ ...base, members: [3, 5, 7, 9] }),
      { type: 'start', st: 10n },
      { verifySignature: () => true },
    ).state;
    const commitReq = currentMessage(state)!;
    expect(commitReq.kind).toBe('commit_request');
    const decoded = bodyToLeaderMessage(wire(leaderMessageToBody(commitReq, info, true)));
    expect(decoded.msg).toEqual(commitReq);
    expect(sameRound(decoded.info, info)).toBe(true);
    expect('includePeers' in decoded && decoded.includePeers).toBe(true);

    const big = (1n << 255n) + 3n;
    for (const proposal of [1, 2]) {
      const msg = {
        kind: 'propose',
        tid: info.tid,
        attempt: 2,
        proposal,
        st: big,
        median: proposal === 2,
      } as const;
      expect(bodyToLeaderMessage(wire(leaderMessageToBody(msg, info))).msg).toEqual(msg);
    }
    const sync = { kind: 'sync_request', tid: info.tid, attempt: 3 } as const;
    expect(bodyToLeaderMessage(wire(leaderMessageToBody(sync, info))).msg).toEqual(sync);
  });

  it('round-trips commit, reveal (with and without signature) and sync replies', () => {
    const req = { kind: 'commit_request', tid: info.tid, attempt: 1, ...base } as const;
    const commit = followerCommit(req, 42n, nonce);
    expect(bodyToReply(wire(commitReplyToBody(commit, info)))).toEqual({ type: 'commit', msg: commit });

    const sk = secretKeyFromSeed(new Uint8Array(32).fill(9));
    const proposal = {
      kind: 'propose',
      tid: info.tid,
      attempt: 1,
      proposal: 1,
      st: 42n,
      median: false,
    } as const;
    const signSt = (st: bigint) =>
      toHex(sign(sk, hexToBytes(paymentMessage({ chainId: 31337n, ...info, st }))));
    const approve = followerRespond(proposal, 42n, nonce, 100n, signSt);
    const back = bodyToReply(wire(revealToBody(approve, info)));
    expect(back).toEqual({ type: 'reveal', msg: approve });
    const sig = back.type === 'reveal' ? back.msg.signature! : '0x';
    expect(
      verify(
        publicKeyOf(sk),
        hexToBytes(paymentMessage({ chainId: 31337n, ...info, st: 42n })),
        hexToBytes(sig),
      ),
    ).toBe(true);

    const refuse = followerRespond({ ...proposal, st: 1000n }, 42n, nonce, 100n, signSt);
    expect(refuse.approve).toBe(false);
    expect(bodyToReply(wire(revealToBody(refuse, info)))).toEqual({ type: 'reveal', msg: refuse });

    expect(bodyToReply(wire(syncReplyToBody(info, 2, 17)))).toEqual({
      type: 'synced',
      tid: info.tid,
      attempt: 2,
      accepted: 17,
    });
    expect(bodyToReply(wire({ $case: 'error', value: { code: 'ROUND_NOT_LEADER', message: 'no' } }))).toEqual(
      {
        type: 'error',
        code: 'ROUND_NOT_LEADER',
        message: 'no',
      },
    );
  });

  it('refuses malformed wire messages with typed errors', () => {
    const good = leaderMessageToBody(
      { kind: 'propose', tid: info.tid, attempt: 1, proposal: 1, st: 5n, median: false },
      info,
    ) as Extract<Body, { $case: 'proposeRequest' }>;
    const round = good.value.round!;
    const withRound = (r: Partial<keeperV1.RoundId>): Body => ({
      ...good,
      value: { ...good.value, round: { ...round, ...r } },
    });
    expect(code(() => bodyToLeaderMessage(withRound({ tid: new Uint8Array(31) })))).toBe('ROUND_MALFORMED');
    expect(code(() => bodyToLeaderMessage(withRound({ user: new Uint8Array(19) })))).toBe('ROUND_MALFORMED');
    expect(code(() => bodyToLeaderMessage(withRound({ attempt: 0 })))).toBe('ROUND_MALFORMED');
    expect(code(() => bodyToLeaderMessage(withRound({ position: 0 })))).toBe('ROUND_MALFORMED');
    expect(code(() => bodyToLeaderMessage(withRound({ te: 100n })))).toBe('ROUND_MALFORMED');
    expect(code(() => bodyToLeaderMessage({ ...good, value: { ...good.value, round: undefined } }))).toBe(
      'ROUND_MALFORMED',
    );
    for (const st of ['-1', '1.5', '0x10', '', '01', (1n << 256n).toString()]) {
      expect(code(() => bodyToLeaderMessage({ ...good, value: { ...good.value, st } }))).toBe(
        'ROUND_MALFORMED',
      );
    }
    expect(code(() => bodyToLeaderMessage({ ...good, value: { ...good.value, proposal: 3 } }))).toBe(
      'ROUND_MALFORMED',
    );
    expect(code(() => bodyToLeaderMessage({ $case: 'ack', value: { ok: true } }))).toBe(
      'ROUND_UNEXPECTED_MESSAGE',
    );
    expect(code(() => bodyToLeaderMessage(undefined))).toBe('ROUND_UNEXPECTED_MESSAGE');
    expect(code(() => bodyToReply({ $case: 'commitRequest', value: { round, includePeers: false } }))).toBe(
      'ROUND_UNEXPECTED_MESSAGE',
    );
    expect(
      code(() => bodyToReply({ $case: 'commitReply', value: { round, commitment: new Uint8Array(5) } })),
    ).toBe('ROUND_MALFORMED');
    expect(roundInfoOf(round).info).toEqual(info);
  });

  it('drives core’s reducer end to end through the wire encoding (4 members, threshold 2)', () => {
    const members = [3, 5, 7, 9];
    const sks = new Map(members.map((m) => [m, secretKeyFromSeed(new Uint8Array(32).fill(m))]));
    const chainId = 31337n;
    const msgOf = (st: bigint) => hexToBytes(paymentMessage({ chainId, ...info, st }));
    const deps = {
      verifySignature: (from: number, st: bigint, sig: Hex) =>
        verify(publicKeyOf(sks.get(from)!), msgOf(st), hexToBytes(sig)),
    };
    const values = new Map([
      [3, 1000n],
      [5, 1001n],
      [7, 1000n],
      [9, 5000n],
    ]);
    let state: LeaderState = createLeaderRound({ ...base, members });
    let step = leaderReducer(state, { type: 'start', st: 1000n }, deps);
    state = step.state;
    // Commit phase: every member answers through the wire.
    const commitReq = bodyToLeaderMessage(wire(leaderMessageToBody(currentMessage(state)!, info)));
    for (const m of members) {
      if (commitReq.msg.kind !== 'commit_request') throw new Error('expected a commit request');
      const reply = bodyToReply(
        wire(commitReplyToBody(followerCommit(commitReq.msg, values.get(m)!, nonce), info)),
      );
      if (reply.type !== 'commit') throw new Error('expected a commit');
      step = leaderReducer(state, { type: 'commit', from: m, msg: reply.msg }, deps);
      state = step.state;
    }
    expect(state.phase).toBe('proposing');
    const proposal = bodyToLeaderMessage(wire(leaderMessageToBody(currentMessage(state)!, info)));
    for (const m of members) {
      if (proposal.msg.kind !== 'propose') throw new Error('expected a proposal');
      const reveal = followerRespond(proposal.msg, values.get(m)!, nonce, 100n, (st) =>
        toHex(sign(sks.get(m)!, msgOf(st))),
      );
      const reply = bodyToReply(wire(revealToBody(reveal, info)));
      if (reply.type !== 'reveal') throw new Error('expected a reveal');
      step = leaderReducer(state, { type: 'reveal', from: m, msg: reply.msg }, deps);
      state = step.state;
      if (state.phase === 'submitted') break;
    }
    expect(state.phase).toBe('submitted');
    expect(step.outputs.find((o) => o.type === 'submit')).toMatchObject({ st: 1000n });
  });

  it('aggregates the approvals into pay’s signer indices in group order', async () => {
    const { encodeGroup } = await import('@whitepay/contracts');
    const { g1ToEip2537 } = await import('@whitepay/bls');
    const ids = [9, 3, 7, 5]; // group order is registration order, not id order
    const sks = new Map(ids.map((m) => [m, secretKeyFromSeed(new Uint8Array(32).fill(m))]));
    const group = encodeGroup(
      ids.map((keeperId) => ({
        keeperId,
        account: `0x${keeperId.toString(16).padStart(40, '0')}` as Address,
        publicKey: toHex(g1ToEip2537(publicKeyOf(sks.get(keeperId)!))),
      })),
    );
    const msg = hexToBytes(paymentMessage({ chainId: 1n, ...info, st: 5n }));
    const state = {
      ...createLeaderRound({ ...base, leaderId: 7, members: ids }),
      approvals: { 3: toHex(sign(sks.get(3)!, msg)), 5: toHex(sign(sks.get(5)!, msg)) },
    };
    const view = { group } as unknown as Parameters<typeof aggregateApprovals>[1];
    const agg = aggregateApprovals(state, view);
    expect(agg.signerIds).toEqual([3, 5]);
    expect(agg.signers).toEqual([1, 3]);
    expect(hexToBytes(agg.signature).length).toBe(256);
  });
});
