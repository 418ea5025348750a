import type { Hex } from 'viem';
import {
  type CommitReply,
  commitment,
  createLeaderRound,
  type LeaderOutput,
  type LeaderState,
  leaderReducer,
  type RevealReply,
} from '../round.js';
import type { Decision, ScriptAdapter } from './round-script.js';

/** The list reducer seen through a script over one entry (`k = 1`). */
export const listAdapter: ScriptAdapter<LeaderState> = {
  create: (s) =>
    createLeaderRound({
      user: s.user,
      leaderId: s.members[s.leader]!,
      r: s.r,
      items: [{ pid: s.pid, ts: BigInt(s.ts), te: BigInt(s.te) }],
      members: s.members,
      ...(s.threshold === undefined ? {} : { threshold: s.threshold }),
      ...(s.maxAttempts === undefined ? {} : { maxAttempts: s.maxAttempts }),
    }),
  id: (s) => s.config.tid,
  phase: (s) => s.phase,
  attempt: (s) => s.attempt,
  proposal: (s) => s.proposal,
  liars: (s) => [...s.liars],
  proposedSt: (s) => s.proposedSts?.[0] ?? null,
  commitment: (st, nonce) => commitment([st], nonce),
  start: (s, st) => leaderReducer(s, { type: 'start', sts: [st] }, { verifySignature: () => false }),
  synced: (s, st) => leaderReducer(s, { type: 'synced', sts: [st] }, { verifySignature: () => false }),
  timeout: (s, ev) => leaderReducer(s, { type: 'timeout', ...ev } as never, { verifySignature: () => false }),
  commit: (s, from, m) =>
    leaderReducer(
      s,
      {
        type: 'commit',
        from,
        msg: {
          kind: 'commit',
          tid: m.id,
          attempt: m.attempt,
          commitment: m.commitment,
        } as CommitReply,
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
          sts: [m.st],
          nonce: m.nonce,
          approve: m.approve,
          ...(m.signature === undefined ? {} : { signature: m.signature }),
        } as RevealReply,
      },
      { verifySignature: (f, sts, sig) => sts.length === 1 && verify(f, sts[0]!, sig) },
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
          st: String(m.sts[0]),
          median: m.median,
        };
      }
      case 'full_sync':
        return { type: 'full_sync', attempt: out.attempt };
      case 'submit':
        return {
          type: 'submit',
          st: String(out.sts[0]),
          signers: out.signers,
          signatures: out.signatures as Hex[],
        };
      case 'failed':
        return { type: 'failed', reason: out.reason };
      case 'rejected':
        return { type: 'rejected', from: out.from, reason: out.reason };
    }
  },
};
