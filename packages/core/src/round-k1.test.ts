import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchCommitment, batchFollowerRespond } from './batch-round.js';
import { commitment } from './message.js';
import {
  type CommitReply,
  createLeaderRound,
  followerRespond,
  type LeaderOutput,
  type LeaderState,
  leaderReducer,
  type RevealReply,
} from './round.js';
import { listAdapter } from './testing/list-adapter.js';
import { type Decision, nonceOf, playScript, type ScriptAdapter } from './testing/round-script.js';
import { roundScript } from './testing/round-script-arb.js';

/** Today's single-entry reducer seen through a script (deleted with round.ts). */
export const singleAdapter: ScriptAdapter<LeaderState> = {
  create: (s) =>
    createLeaderRound({
      user: s.user,
      pid: s.pid,
      ts: BigInt(s.ts),
      te: BigInt(s.te),
      leaderId: s.members[s.leader]!,
      r: s.r,
      members: s.members,
      ...(s.threshold === undefined ? {} : { threshold: s.threshold }),
      ...(s.maxAttempts === undefined ? {} : { maxAttempts: s.maxAttempts }),
    }),
  id: (s) => s.config.tid,
  phase: (s) => s.phase,
  attempt: (s) => s.attempt,
  proposal: (s) => s.proposal,
  liars: (s) => [...s.liars],
  proposedSt: (s) => s.proposedSt,
  commitment,
  start: (s, st) => leaderReducer(s, { type: 'start', st }, { verifySignature: () => false }),
  synced: (s, st) => leaderReducer(s, { type: 'synced', st }, { verifySignature: () => false }),
  timeout: (s, ev) => leaderReducer(s, { type: 'timeout', ...ev } as never, { verifySignature: () => false }),
  commit: (s, from, m) =>
    leaderReducer(
      s,
      {
        type: 'commit',
        from,
        msg: { kind: 'commit', tid: m.id, attempt: m.attempt, commitment: m.commitment } as CommitReply,
      },
      { verifySignature: () => false },
    ),
  reveal: (s, from, m, verify) =>
    leaderReducer(
      s,
      {
        type: 'reveal',
        from,
        msg: {
          kind: 'reveal',
          tid: m.id,
          attempt: m.attempt,
          proposal: m.proposal,
          st: m.st,
          nonce: m.nonce,
          approve: m.approve,
          ...(m.signature === undefined ? {} : { signature: m.signature }),
        } as RevealReply,
      },
      { verifySignature: verify },
    ),
  decision: (o): Decision => {
    const out = o as LeaderOutput;
    switch (out.type) {
      case 'broadcast': {
        const m = out.msg;
        if (m.kind === 'commit_request') return { type: 'broadcast', kind: 'commit', attempt: m.attempt };
        if (m.kind === 'sync_request') return { type: 'broadcast', kind: 'sync', attempt: m.attempt };
        return {
          type: 'broadcast',
          kind: 'propose',
          attempt: m.attempt,
          proposal: m.proposal,
          st: String(m.st),
          median: m.median,
        };
      }
      case 'full_sync':
        return { type: 'full_sync', attempt: out.attempt };
      case 'submit':
        return { type: 'submit', st: String(out.st), signers: out.signers, signatures: out.signatures };
      case 'failed':
        return { type: 'failed', reason: out.reason };
      case 'rejected':
        return { type: 'rejected', from: out.from, reason: out.reason };
    }
  },
};

describe('the list reducer at k = 1 decides as the single round did', () => {
  it('the same decisions over random event sequences', () => {
    fc.assert(
      fc.property(roundScript, (script) => {
        expect(playScript(listAdapter, script)).toEqual(playScript(singleAdapter, script));
      }),
      { numRuns: 3000 },
    );
  });

  it('the same commitment bytes (abi.encode(uint256, bytes32) is the packed pair)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
        fc.integer({ min: 0, max: 255 }),
        (st, n) => {
          expect(batchCommitment([st], nonceOf(n))).toBe(commitment(st, nonceOf(n)));
        },
      ),
    );
  });

  it('a member approves the same proposals', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 1n << 70n }),
        fc.bigInt({ min: 0n, max: 1n << 70n }),
        fc.bigInt({ min: 0n, max: 10_000n }),
        (st, mine, tol) => {
          const single = followerRespond(
            { kind: 'propose', tid: nonceOf(1), attempt: 1, proposal: 1, st, median: false },
            mine,
            nonceOf(2),
            tol,
            () => nonceOf(3),
          );
          const list = batchFollowerRespond(
            { kind: 'batch_propose', bid: nonceOf(1), attempt: 1, proposal: 1, sts: [st], median: false },
            [mine],
            nonceOf(2),
            tol,
            () => nonceOf(3),
          );
          expect(list.approve).toBe(single.approve);
        },
      ),
    );
  });
});
