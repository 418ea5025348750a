import fc from 'fast-check';
import { type Address, encodeAbiParameters, type Hex, keccak256, toHex } from 'viem';
import { describe, expect, it } from 'vitest';
import { EncodingError, RoundError } from './errors.js';
import { commitment } from './message.js';
import {
  type CommitReply,
  createLeaderRound,
  DEFAULT_MAX_ATTEMPTS,
  deserializeRoundState,
  followerCommit,
  followerRespond,
  type LeaderDeps,
  type LeaderEvent,
  type LeaderOutput,
  type LeaderRoundInput,
  type LeaderState,
  leaderReducer,
  type Proposal,
  type RevealReply,
  serializeRoundState,
} from './round.js';
import { tid } from './tid.js';

const user: Address = '0x1111111111111111111111111111111111111111';
const pid: Address = '0x2222222222222222222222222222222222222222';
const MEMBERS = [4, 1, 3, 2]; // n = 4, f = 1: commit quorum 3, threshold 2
const round: LeaderRoundInput = { user, pid, ts: 1000n, te: 1600n, leaderId: 1, r: 2, members: MEMBERS };

/** A stand-in for BLS: the "signature" of `from` over `st` is a hash only `from` would produce. */
const sig = (from: number, st: bigint): Hex =>
  keccak256(encodeAbiParameters([{ type: 'uint32' }, { type: 'uint256' }], [from, st]));
const deps: LeaderDeps = { verifySignature: (from, st, s) => s === sig(from, st) };
const nonce = (from: number, attempt: number): Hex => keccak256(toHex(`nonce/${from}/${attempt}`));

function commitEv(s: LeaderState, from: number, st: bigint): LeaderEvent {
  return {
    type: 'commit',
    from,
    msg: {
      kind: 'commit',
      tid: s.config.tid,
      attempt: s.attempt,
      commitment: commitment(st, nonce(from, s.attempt)),
    },
  };
}

function revealEv(
  s: LeaderState,
  from: number,
  st: bigint,
  approve: boolean,
  over: Partial<RevealReply> = {},
): LeaderEvent {
  const msg: RevealReply = {
    kind: 'reveal',
    tid: s.config.tid,
    attempt: s.attempt,
    proposal: s.proposal,
    st,
    nonce: nonce(from, s.attempt),
    approve,
    ...(approve ? { signature: sig(from, s.proposedSt!) } : {}),
    ...over,
  };
  return { type: 'reveal', from, msg };
}

/** Feeds events one by one (built lazily from the current state) and gathers every output. */
function run(
  s: LeaderState,
  ...events: Array<LeaderEvent | ((s: LeaderState) => LeaderEvent)>
): { state: LeaderState; outputs: LeaderOutput[] } {
  const outputs: LeaderOutput[] = [];
  let state = s;
  for (const e of events) {
    const step = leaderReducer(state, typeof e === 'function' ? e(state) : e, deps);
    state = step.state;
    outputs.push(...step.outputs);
  }
  return { state, outputs };
}

const start = (st = 100n, input: Partial<LeaderRoundInput> = {}) =>
  run(createLeaderRound({ ...round, ...input }), { type: 'start', st });

/** Started, with commitments from 1, 2, 3 (each committing to `values[id]`): proposal 1 is out. */
function proposed(values: Record<number, bigint>, input: Partial<LeaderRoundInput> = {}) {
  return run(
    start(values[1], input).state,
    (s) => commitEv(s, 1, values[1]!),
    (s) => commitEv(s, 2, values[2]!),
    (s) => commitEv(s, 3, values[3]!),
  );
}

const rejections = (outputs: LeaderOutput[]) =>
  outputs.filter((o) => o.type === 'rejected').map((o) => (o as { reason: string }).reason);

describe('createLeaderRound', () => {
  it('derives tid, quorum and threshold from the group', () => {
    const s = createLeaderRound(round);
    expect(s.config).toEqual({
      tid: tid(round),
      user,
      pid,
      ts: 1000n,
      te: 1600n,
      leaderId: 1,
      r: 2,
      members: [1, 2, 3, 4],
      commitQuorum: 3,
      threshold: 2,
      maxAttempts: DEFAULT_MAX_ATTEMPTS,
    });
    expect(s.phase).toBe('idle');
    expect(createLeaderRound({ ...round, threshold: 4, maxAttempts: 1 }).config).toMatchObject({
      threshold: 4,
      maxAttempts: 1,
    });
  });

  it.each([
    ['an empty group', { members: [] }],
    ['a duplicate member', { members: [1, 1, 2] }],
    ['a non-uint32 member', { members: [1, -2] }],
    ['a leader outside the group', { leaderId: 9 }],
    ['a threshold above n', { threshold: 5 }],
    ['a zero threshold', { threshold: 0 }],
    ['zero attempts', { maxAttempts: 0 }],
    ['an empty interval', { te: 1000n }],
  ])('rejects %s', (_name, over) => {
    const fn = () => createLeaderRound({ ...round, ...over });
    expect(fn).toThrow(RoundError);
    try {
      fn();
    } catch (err) {
      expect((err as RoundError).code).toBe('ROUND_INVALID_CONFIG');
    }
  });

  it('rejects values the tid cannot encode', () => {
    expect(() => createLeaderRound({ ...round, r: 0 })).toThrow(EncodingError);
  });
});

describe('leaderReducer: the happy path', () => {
  it('start broadcasts the commit request', () => {
    const { state, outputs } = start(100n);
    expect(state).toMatchObject({ phase: 'committing', attempt: 1, leaderSt: 100n });
    expect(outputs).toEqual([
      {
        type: 'broadcast',
        msg: {
          kind: 'commit_request',
          tid: state.config.tid,
          attempt: 1,
          user,
          pid,
          ts: 1000n,
          te: 1600n,
          leaderId: 1,
          r: 2,
        },
      },
    ]);
  });

  it('proposes its own value only once 2f+1 commitments are in', () => {
    const two = run(
      start(100n).state,
      (s) => commitEv(s, 1, 100n),
      (s) => commitEv(s, 3, 100n),
    );
    expect(two.outputs).toEqual([]);
    expect(two.state.phase).toBe('committing');
    const three = run(two.state, (s) => commitEv(s, 4, 100n));
    expect(three.state).toMatchObject({ phase: 'proposing', proposal: 1, proposedSt: 100n });
    expect(three.outputs).toEqual([
      {
        type: 'broadcast',
        msg: { kind: 'propose', tid: two.state.config.tid, attempt: 1, proposal: 1, st: 100n, median: false },
      },
    ]);
  });

  it('submits with threshold approvals, signers ascending and signatures aligned', () => {
    const p = proposed({ 1: 100n, 2: 100n, 3: 101n });
    const one = run(p.state, (s) => revealEv(s, 3, 101n, true));
    expect(one.outputs).toEqual([]);
    const two = run(one.state, (s) => revealEv(s, 2, 100n, true));
    expect(two.state.phase).toBe('submitted');
    expect(two.outputs).toEqual([
      { type: 'submit', st: 100n, signers: [2, 3], signatures: [sig(2, 100n), sig(3, 100n)] },
    ]);
  });

  it('honours a configured threshold', () => {
    const p = proposed({ 1: 100n, 2: 100n, 3: 100n }, { threshold: 3 });
    const two = run(
      p.state,
      (s) => revealEv(s, 1, 100n, true),
      (s) => revealEv(s, 2, 100n, true),
    );
    expect(two.outputs).toEqual([]);
    const three = run(two.state, (s) => revealEv(s, 3, 100n, true));
    expect(three.outputs[0]).toMatchObject({ type: 'submit', signers: [1, 2, 3] });
  });

  it('waits for threshold commitments when the threshold exceeds 2f+1', () => {
    let s = createLeaderRound({ ...round, threshold: 4 });
    expect(s.config.commitQuorum).toBe(4);
    s = leaderReducer(s, { type: 'start', st: 100n }, deps).state;
    for (const id of [1, 2, 3]) s = leaderReducer(s, commitEv(s, id, 100n), deps).state;
    expect(s.phase).toBe('committing');
    const r = run(
      s,
      (x) => commitEv(x, 4, 100n),
      ...[1, 2, 3, 4].map((id) => (x: LeaderState) => revealEv(x, id, 100n, true)),
    );
    expect(r.outputs.at(-1)).toMatchObject({ type: 'submit', signers: [1, 2, 3, 4] });
  });

  it('a late member may still reveal after the proposal if it committed', () => {
    const p = proposed({ 1: 100n, 2: 100n, 3: 100n });
    const r = run(p.state, (s) => revealEv(s, 2, 100n, false));
    expect(r.state.responded).toEqual([2]);
    expect(r.state.reveals).toEqual({ 2: 100n });
  });
});

describe('leaderReducer: re-propose, full sync, bounded attempts', () => {
  const disagree = { 1: 500n, 2: 100n, 3: 102n };

  it('re-proposes the median of the revealed values when fewer than threshold approve', () => {
    const p = proposed(disagree);
    const r = run(
      p.state,
      (s) => revealEv(s, 1, 500n, true),
      (s) => revealEv(s, 2, 100n, false),
      (s) => revealEv(s, 3, 102n, false),
    );
    // 1 approval; nobody outstanding (4 never committed): give up on proposal 1.
    expect(r.state).toMatchObject({ phase: 'proposing', proposal: 2, proposedSt: 102n, approvals: {} });
    expect(r.outputs).toEqual([
      {
        type: 'broadcast',
        msg: { kind: 'propose', tid: p.state.config.tid, attempt: 1, proposal: 2, st: 102n, median: true },
      },
    ]);
    const done = run(
      r.state,
      (s) => revealEv(s, 2, 100n, true),
      (s) => revealEv(s, 3, 102n, true),
    );
    expect(done.outputs).toEqual([
      { type: 'submit', st: 102n, signers: [2, 3], signatures: [sig(2, 102n), sig(3, 102n)] },
    ]);
  });

  it('rejects an approval of proposal 1 arriving during proposal 2', () => {
    const p = proposed(disagree);
    const one = run(p.state, (s) => revealEv(s, 1, 500n, true));
    const stale = revealEv(one.state, 2, 100n, true);
    const r = run(
      one.state,
      (s) => revealEv(s, 2, 100n, false),
      (s) => revealEv(s, 3, 102n, false),
      stale,
    );
    expect(rejections(r.outputs)).toEqual(['wrong_proposal']);
  });

  it('asks for a full sync when the median gets no quorum either, then starts attempt 2', () => {
    const p = proposed(disagree);
    const median = run(
      p.state,
      (s) => revealEv(s, 1, 500n, false),
      (s) => revealEv(s, 2, 100n, false),
      (s) => revealEv(s, 3, 102n, false),
    );
    const sync = run(
      median.state,
      (s) => revealEv(s, 1, 500n, false),
      (s) => revealEv(s, 2, 100n, true),
      (s) => revealEv(s, 3, 102n, false),
    );
    expect(sync.state.phase).toBe('syncing');
    expect(sync.outputs).toEqual([
      { type: 'broadcast', msg: { kind: 'sync_request', tid: p.state.config.tid, attempt: 1 } },
      { type: 'full_sync', tid: p.state.config.tid, attempt: 1 },
    ]);
    const again = run(sync.state, { type: 'synced', st: 103n });
    expect(again.state).toMatchObject({
      phase: 'committing',
      attempt: 2,
      leaderSt: 103n,
      commitments: {},
      reveals: {},
      proposal: 0,
    });
    expect(again.outputs[0]).toMatchObject({
      type: 'broadcast',
      msg: { kind: 'commit_request', attempt: 2 },
    });
    // A commitment of attempt 1 is now stale.
    const stale = run(again.state, commitEv(median.state, 2, 100n));
    expect(rejections(stale.outputs)).toEqual(['wrong_attempt']);
  });

  it('fails after maxAttempts instead of syncing again', () => {
    const p = proposed(disagree, { maxAttempts: 1 });
    const r = run(
      p.state,
      (s) => revealEv(s, 1, 500n, false),
      (s) => revealEv(s, 2, 100n, false),
      (s) => revealEv(s, 3, 102n, false),
      // Median 102: two refusals leave the threshold (2 of 3) out of reach.
      (s) => revealEv(s, 1, 500n, false),
      (s) => revealEv(s, 2, 100n, false),
    );
    expect(r.state.phase).toBe('failed');
    expect(r.outputs.at(-1)).toEqual({ type: 'failed', reason: 'no_quorum' });
    // Closed for good.
    expect(rejections(run(r.state, (s) => revealEv(s, 2, 100n, true)).outputs)).toEqual(['closed']);
    expect(run(r.state, { type: 'timeout' }).outputs).toEqual([]);
  });

  it('bounds commit timeouts by maxAttempts too', () => {
    let s = start(100n, { maxAttempts: 2 }).state;
    let step = run(s, { type: 'timeout', attempt: 1, phase: 'committing' });
    expect(step.state).toMatchObject({ phase: 'committing', attempt: 2 });
    expect(step.outputs[0]).toMatchObject({ type: 'broadcast', msg: { kind: 'commit_request', attempt: 2 } });
    s = step.state;
    step = run(s, { type: 'timeout' });
    expect(step.state.phase).toBe('failed');
    expect(step.outputs).toEqual([{ type: 'failed', reason: 'no_quorum' }]);
  });
});

describe('leaderReducer: timeouts', () => {
  it('re-proposes the median as soon as 2f+1 reveals leave the threshold out of reach', () => {
    const p = proposed({ 1: 100n, 2: 100n, 3: 300n });
    const two = run(
      p.state,
      (s) => revealEv(s, 1, 100n, false),
      (s) => revealEv(s, 2, 100n, false),
    );
    // Threshold already out of reach, but only 2 reveals and member 3 may still answer: wait.
    expect(two.outputs).toEqual([]);
    const three = run(two.state, (s) => revealEv(s, 3, 300n, true));
    expect(three.state).toMatchObject({ proposal: 2, proposedSt: 100n });
  });

  it('on a timeout of the median proposal, asks for a full sync', () => {
    const p = proposed({ 1: 500n, 2: 100n, 3: 102n });
    const median = run(
      p.state,
      (s) => revealEv(s, 1, 500n, false),
      (s) => revealEv(s, 2, 100n, false),
      (s) => revealEv(s, 3, 102n, false),
    );
    const r = run(median.state, (s) => revealEv(s, 2, 100n, true), {
      type: 'timeout',
      attempt: 1,
      proposal: 2,
    });
    expect(r.state.phase).toBe('syncing');
  });

  it('waits while outstanding members could still bring the threshold', () => {
    const p = proposed({ 1: 100n, 2: 100n, 3: 100n });
    const r = run(p.state, (s) => revealEv(s, 1, 100n, false));
    expect(r.state.proposal).toBe(1);
    expect(r.outputs).toEqual([]);
  });

  it('on a proposal timeout with fewer than 2f+1 reveals, asks for a full sync', () => {
    const p = proposed({ 1: 100n, 2: 100n, 3: 100n });
    const r = run(p.state, (s) => revealEv(s, 1, 100n, false), { type: 'timeout' });
    expect(r.state.phase).toBe('syncing');
    expect(r.outputs.map((o) => o.type)).toEqual(['broadcast', 'full_sync']);
  });

  it('on a sync timeout, starts the next attempt with the value it has', () => {
    const p = proposed({ 1: 100n, 2: 100n, 3: 100n });
    const syncing = run(p.state, { type: 'timeout' }).state;
    const r = run(syncing, { type: 'timeout', phase: 'syncing' });
    expect(r.state).toMatchObject({ phase: 'committing', attempt: 2, leaderSt: 100n });
  });

  it('ignores timers armed for another attempt, phase or proposal, and timers when idle or done', () => {
    const p = proposed({ 1: 100n, 2: 100n, 3: 100n });
    for (const t of [{ attempt: 2 }, { phase: 'committing' as const }, { proposal: 2 }]) {
      const r = run(p.state, { type: 'timeout', ...t });
      expect(r.state).toBe(p.state);
      expect(r.outputs).toEqual([]);
    }
    const idle = createLeaderRound(round);
    expect(run(idle, { type: 'timeout' }).state).toBe(idle);
  });

  it('ignores synced outside a sync', () => {
    const p = proposed({ 1: 100n, 2: 100n, 3: 100n });
    expect(run(p.state, { type: 'synced', st: 5n })).toEqual({ state: p.state, outputs: [] });
  });
});

describe('leaderReducer: what it rejects', () => {
  it('drops and counts commitments from non-members, other rounds, replays, malformed and late ones', () => {
    const s0 = start(100n).state;
    const good = commitEv(s0, 2, 100n) as Extract<LeaderEvent, { type: 'commit' }>;
    const otherTid = tid({ ...round, te: 1601n });
    const r = run(
      s0,
      { ...good, from: 9 },
      { ...good, msg: { ...good.msg, tid: otherTid } },
      { ...good, msg: { ...good.msg, attempt: 2 } },
      { ...good, msg: { ...good.msg, commitment: '0x1234' } },
      { ...good, msg: { ...good.msg, kind: 'reveal' } as unknown as CommitReply },
      { ...good, msg: null as unknown as CommitReply },
      { ...good, msg: { ...good.msg, attempt: '1' } as unknown as CommitReply },
      good,
      good,
    );
    expect(rejections(r.outputs)).toEqual([
      'not_member',
      'wrong_round',
      'wrong_attempt',
      'malformed',
      'malformed',
      'malformed',
      'malformed',
      'duplicate',
    ]);
    expect(r.state.rejected).toEqual({
      not_member: 1,
      wrong_round: 1,
      wrong_attempt: 1,
      malformed: 4,
      duplicate: 1,
    });
    expect(Object.keys(r.state.commitments)).toEqual(['2']);
    // After the proposal a commitment is late: it could have been copied from the proposal.
    const p = proposed({ 1: 100n, 2: 100n, 3: 100n });
    expect(rejections(run(p.state, (s) => commitEv(s, 4, 100n)).outputs)).toEqual(['unexpected']);
  });

  it('drops anything before start and after submit', () => {
    const idle = createLeaderRound(round);
    const r = run(idle, {
      type: 'commit',
      from: 2,
      msg: { kind: 'commit', tid: idle.config.tid, attempt: 0, commitment: commitment(1n, nonce(2, 0)) },
    });
    expect(rejections(r.outputs)).toEqual(['closed']);
    const p = proposed({ 1: 100n, 2: 100n, 3: 100n });
    const done = run(
      p.state,
      (s) => revealEv(s, 2, 100n, true),
      (s) => revealEv(s, 3, 100n, true),
    );
    expect(done.state.phase).toBe('submitted');
    expect(rejections(run(done.state, (s) => revealEv(s, 1, 100n, true)).outputs)).toEqual(['closed']);
  });

  it('drops reveals before the proposal, without a commitment, replayed, or malformed', () => {
    const s0 = start(100n).state;
    const early = run(
      s0,
      (s) => commitEv(s, 2, 100n),
      (s) => revealEv(s, 2, 100n, false),
    );
    expect(rejections(early.outputs)).toEqual(['unexpected']);

    const p = proposed({ 1: 100n, 2: 100n, 3: 100n });
    const noCommit = run(p.state, (s) => revealEv(s, 4, 100n, false));
    expect(rejections(noCommit.outputs)).toEqual(['no_commitment']);

    const replay = run(
      p.state,
      (s) => revealEv(s, 2, 100n, false),
      (s) => revealEv(s, 2, 100n, false),
    );
    expect(rejections(replay.outputs)).toEqual(['duplicate']);

    const bad: Array<Partial<RevealReply>> = [
      { st: -1n },
      { nonce: '0x12' },
      { approve: 'yes' as unknown as boolean },
      { signature: 5 as unknown as Hex },
      { proposal: 1.5 },
      { kind: 'commit' as 'reveal' },
    ];
    for (const over of bad) {
      expect(rejections(run(p.state, (s) => revealEv(s, 2, 100n, false, over)).outputs)).toEqual([
        'malformed',
      ]);
    }
    expect(rejections(run(p.state, (s) => revealEv(s, 2, 100n, false, { proposal: 2 })).outputs)).toEqual([
      'wrong_proposal',
    ]);
  });

  it('drops approvals without a signature or with a bad one, and lets the member answer properly', () => {
    const p = proposed({ 1: 100n, 2: 100n, 3: 100n });
    const noSig = revealEv(p.state, 2, 100n, false, { approve: true });
    const emptySig = revealEv(p.state, 2, 100n, true, { signature: '0x' });
    const wrongSig = revealEv(p.state, 2, 100n, true, { signature: sig(3, 100n) });
    const wrongValue = revealEv(p.state, 2, 100n, true, { signature: sig(2, 99n) });
    const r = run(p.state, noSig, emptySig, wrongSig, wrongValue);
    expect(rejections(r.outputs)).toEqual([
      'missing_signature',
      'missing_signature',
      'bad_signature',
      'bad_signature',
    ]);
    expect(r.state.approvals).toEqual({});
    expect(r.state.responded).toEqual([]);
    const throwing: LeaderDeps = {
      verifySignature: () => {
        throw new Error('boom');
      },
    };
    const t = leaderReducer(p.state, revealEv(p.state, 2, 100n, true), throwing);
    expect(rejections(t.outputs)).toEqual(['bad_signature']);
  });

  it('catches a reveal that does not match its commitment and marks the sender a liar', () => {
    const p = proposed({ 1: 100n, 2: 100n, 3: 100n });
    const lie = run(p.state, (s) => revealEv(s, 3, 100n, true, { st: 100n, nonce: nonce(3, 99) }));
    expect(rejections(lie.outputs)).toEqual(['commitment_mismatch']);
    expect(lie.state.liars).toEqual([3]);
    expect(lie.state.reveals).toEqual({});
    // The liar cannot try again in this round.
    const again = run(lie.state, (s) => revealEv(s, 3, 100n, true));
    expect(rejections(again.outputs)).toEqual(['liar']);
  });

  it('gives up on a proposal when catching a liar leaves too few possible approvals', () => {
    const p = proposed({ 1: 500n, 2: 100n, 3: 100n });
    const r = run(
      p.state,
      (s) => revealEv(s, 2, 100n, false),
      (s) => revealEv(s, 1, 500n, true),
      (s) => revealEv(s, 3, 999n, true),
    );
    expect(rejections(r.outputs)).toEqual(['commitment_mismatch']);
    // Only 2 reveals: no median; straight to a full sync.
    expect(r.state.phase).toBe('syncing');
    expect(r.outputs.filter((o) => o.type === 'full_sync')).toHaveLength(1);
  });

  it('throws on caller misuse only', () => {
    const s = start(100n).state;
    expect(() => leaderReducer(s, { type: 'start', st: 1n }, deps)).toThrow(RoundError);
    expect(() => leaderReducer(createLeaderRound(round), { type: 'start', st: -1n }, deps)).toThrow(
      RoundError,
    );
    expect(() => leaderReducer(s, { type: 'synced', st: -1n }, deps)).toThrow(RoundError);
    expect(() => leaderReducer(s, { type: 'nope' } as unknown as LeaderEvent, deps)).toThrow(RoundError);
  });
});

describe('follower', () => {
  it('commits with keccak256(abi.encode(st, nonce))', () => {
    const s = start(100n).state;
    const request = (start(100n).outputs[0] as { msg: Parameters<typeof followerCommit>[0] }).msg;
    const reply = followerCommit(request, 100n, nonce(2, 1));
    expect(reply).toEqual({
      kind: 'commit',
      tid: s.config.tid,
      attempt: 1,
      commitment: commitment(100n, nonce(2, 1)),
    });
  });

  it('reveals and signs a proposal within tolerance, and only reveals otherwise', () => {
    const proposal: Proposal = {
      kind: 'propose',
      tid: tid(round),
      attempt: 1,
      proposal: 2,
      st: 10_100n,
      median: true,
    };
    const signed: bigint[] = [];
    const sign = (st: bigint) => {
      signed.push(st);
      return sig(2, st);
    };
    expect(followerRespond(proposal, 10_000n, nonce(2, 1), 100n, sign)).toEqual({
      kind: 'reveal',
      tid: tid(round),
      attempt: 1,
      proposal: 2,
      st: 10_000n,
      nonce: nonce(2, 1),
      approve: true,
      signature: sig(2, 10_100n),
    });
    const refused = followerRespond(proposal, 10_000n, nonce(2, 1), 99n, sign);
    expect(refused).toEqual({
      kind: 'reveal',
      tid: tid(round),
      attempt: 1,
      proposal: 2,
      st: 10_000n,
      nonce: nonce(2, 1),
      approve: false,
    });
    expect('signature' in refused).toBe(false);
    expect(signed).toEqual([10_100n]);
  });

  it('drives a whole round together with the leader', () => {
    const values: Record<number, bigint> = { 1: 1000n, 2: 1001n, 3: 1003n, 4: 5000n };
    let { state, outputs } = start(values[1]);
    const inbox: Array<{ from: number; reply: CommitReply | RevealReply }> = [];
    const submits: LeaderOutput[] = [];
    for (let guard = 0; guard < 20 && state.phase !== 'submitted'; guard++) {
      for (const o of outputs) {
        if (o.type === 'submit') submits.push(o);
        if (o.type !== 'broadcast') continue;
        for (const id of [1, 2, 3, 4]) {
          const n = nonce(id, o.msg.attempt);
          if (o.msg.kind === 'commit_request')
            inbox.push({ from: id, reply: followerCommit(o.msg, values[id]!, n) });
          if (o.msg.kind === 'propose') {
            inbox.push({ from: id, reply: followerRespond(o.msg, values[id]!, n, 10n, (st) => sig(id, st)) });
          }
        }
      }
      outputs = [];
      while (inbox.length > 0 && state.phase !== 'submitted') {
        const { from, reply } = inbox.shift()!;
        const step = leaderReducer(
          state,
          reply.kind === 'commit'
            ? { type: 'commit', from, msg: reply }
            : { type: 'reveal', from, msg: reply },
          deps,
        );
        state = step.state;
        outputs.push(...step.outputs);
      }
    }
    expect(outputs.find((o) => o.type === 'submit')).toMatchObject({
      type: 'submit',
      st: 1000n,
      signers: [1, 2],
    });
  });
});

describe('serializeRoundState / deserializeRoundState', () => {
  it('round-trips a state mid-round and the restored state continues identically', () => {
    const p = run(proposed({ 1: 100n, 2: 100n, 3: 100n }).state, (s) => revealEv(s, 2, 100n, true));
    const text = serializeRoundState(p.state);
    expect(() => JSON.parse(text)).not.toThrow();
    const restored = deserializeRoundState(text);
    expect(restored).toEqual(p.state);
    const next = (s: LeaderState) => leaderReducer(s, revealEv(s, 3, 100n, true), deps);
    expect(next(restored)).toEqual(next(p.state));
  });

  it('round-trips an idle state, with nulls', () => {
    const s = createLeaderRound(round);
    expect(deserializeRoundState(serializeRoundState(s))).toEqual(s);
  });

  it.each([
    ['not JSON', '{'],
    ['another version', JSON.stringify({ v: 2 })],
    ['an array', '[]'],
    ['a bad bigint', '{"v":1,"x":{"$bigint":"12a"}}'],
  ])('rejects %s', (_name, text) => {
    expect(() => deserializeRoundState(text)).toThrow(RoundError);
  });

  it('rejects states with a missing or mistyped part', () => {
    const good = JSON.parse(serializeRoundState(proposed({ 1: 1n, 2: 1n, 3: 1n }).state)) as Record<
      string,
      unknown
    >;
    const config = good.config as Record<string, unknown>;
    const broken = [
      { ...good, config: null },
      { ...good, config: { ...config, members: 'x' } },
      { ...good, config: { ...config, ts: 5 } },
      { ...good, phase: 'dancing' },
      { ...good, reveals: [] },
      { ...good, liars: {} },
      { ...good, attempt: 'one' },
    ];
    for (const b of broken) {
      const fn = () => deserializeRoundState(JSON.stringify(b));
      expect(fn).toThrow(RoundError);
      try {
        fn();
      } catch (err) {
        expect((err as RoundError).code).toBe('ROUND_STATE_INVALID');
      }
    }
  });
});

describe('leaderReducer properties', () => {
  // Mostly well-behaved members, so that rounds do reach submissions.
  const mostly = fc.integer({ min: 0, max: 7 }).map((x) => x !== 0);
  const rarely = mostly.map((x) => !x);
  const groupArb = fc.integer({ min: 1, max: 7 }).chain((n) =>
    fc.record({
      n: fc.constant(n),
      threshold: fc.option(fc.integer({ min: 1, max: n }), { nil: undefined }),
      values: fc.array(fc.bigInt(0n, 2000n), { minLength: n, maxLength: n }),
      actions: fc.array(
        fc.oneof(
          {
            weight: 6,
            arbitrary: fc.record({ t: fc.constant('commit' as const), who: fc.nat(n), honest: mostly }),
          },
          {
            weight: 8,
            arbitrary: fc.record({
              t: fc.constant('reveal' as const),
              who: fc.nat(n),
              lie: rarely,
              approve: mostly,
              sigKind: fc.constantFrom(...(['valid', 'valid', 'valid', 'valid', 'bad', 'missing'] as const)),
            }),
          },
          { weight: 1, arbitrary: fc.record({ t: fc.constant('timeout' as const) }) },
          {
            weight: 1,
            arbitrary: fc.record({ t: fc.constant('synced' as const), st: fc.bigInt(0n, 2000n) }),
          },
          { weight: 1, arbitrary: fc.record({ t: fc.constant('noise' as const), who: fc.nat(n) }) },
        ),
        { minLength: 20, maxLength: 80 },
      ),
    }),
  );

  it('never submits without threshold valid signatures, nor proposes before 2f+1 commitments', () => {
    let submits = 0;
    fc.assert(
      fc.property(groupArb, ({ n, threshold, values, actions }) => {
        const quorum = 2 * Math.floor((n - 1) / 3) + 1;
        const members = Array.from({ length: n }, (_, i) => i + 1); // member `who` = n+1 is an outsider
        let state = createLeaderRound({
          ...round,
          members,
          ...(threshold === undefined ? {} : { threshold }),
        });
        state = leaderReducer(state, { type: 'start', st: values[0]! }, deps).state;
        const value = (who: number) => values[who - 1] ?? 7n;
        for (const a of actions) {
          let event: LeaderEvent;
          if (a.t === 'commit') {
            const who = a.who + 1;
            const c = commitment(a.honest ? value(who) : value(who) + 1n, nonce(who, state.attempt));
            event = {
              type: 'commit',
              from: who,
              msg: { kind: 'commit', tid: state.config.tid, attempt: state.attempt, commitment: c },
            };
          } else if (a.t === 'reveal') {
            const who = a.who + 1;
            const target = state.proposedSt ?? 0n;
            const signature =
              a.sigKind === 'valid'
                ? sig(who, target)
                : a.sigKind === 'bad'
                  ? sig(who, target + 1n)
                  : undefined;
            event = {
              type: 'reveal',
              from: who,
              msg: {
                kind: 'reveal',
                tid: state.config.tid,
                attempt: state.attempt,
                proposal: state.proposal,
                st: value(who),
                nonce: a.lie ? nonce(who, 999) : nonce(who, state.attempt),
                approve: a.approve,
                ...(signature === undefined ? {} : { signature }),
              },
            };
          } else if (a.t === 'timeout') {
            event = { type: 'timeout' };
          } else if (a.t === 'synced') {
            event = { type: 'synced', st: a.st };
          } else {
            event = {
              type: 'commit',
              from: a.who + 1,
              msg: { kind: 'commit', tid: '0x00', attempt: -1, commitment: '0x' },
            };
          }
          const before = state;
          const step = leaderReducer(state, event, deps);
          state = step.state;
          for (const o of step.outputs) {
            if (o.type === 'broadcast' && o.msg.kind === 'propose') {
              expect(Object.keys(state.commitments).length).toBeGreaterThanOrEqual(quorum);
            }
            if (o.type === 'submit') {
              submits++;
              expect(before.phase).toBe('proposing');
              expect(new Set(o.signers).size).toBe(o.signers.length);
              expect(o.signers.length).toBeGreaterThanOrEqual(state.config.threshold);
              expect(o.signatures).toHaveLength(o.signers.length);
              expect(o.st).toBe(before.proposedSt);
              expect(Object.keys(state.commitments).length).toBeGreaterThanOrEqual(quorum);
              o.signers.forEach((id, i) => {
                expect(members).toContain(id);
                expect(state.liars).not.toContain(id);
                expect(deps.verifySignature(id, o.st, o.signatures[i]!)).toBe(true);
                expect(state.reveals[id]).toBe(value(id));
              });
            }
          }
          expect(deserializeRoundState(serializeRoundState(state))).toEqual(state);
        }
      }),
      { numRuns: 150 },
    );
    // The generator reaches submissions, so the property is not vacuous.
    expect(submits).toBeGreaterThan(5);
  });

  it('re-proposes a median between the honest values when up to f members lie about st', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((f) =>
          fc.record({
            f: fc.constant(f),
            honest: fc.array(fc.bigInt(1n, 10n ** 30n), { minLength: f + 1, maxLength: f + 1 }),
            lies: fc.array(fc.bigInt(0n, (1n << 256n) - 1n), { minLength: f, maxLength: f }),
          }),
        ),
        ({ f, honest, lies }) => {
          const n = 3 * f + 1;
          const members = Array.from({ length: n }, (_, i) => i + 1);
          // Members 1..f+1 are honest (1 leads), f+2..2f+1 lie consistently with their commitments.
          const value = (id: number) => (id <= f + 1 ? honest[id - 1]! : lies[id - f - 2]!);
          let s = createLeaderRound({ ...round, members });
          s = leaderReducer(s, { type: 'start', st: value(1) }, deps).state;
          for (let id = 1; id <= 2 * f + 1; id++)
            s = leaderReducer(s, commitEv(s, id, value(id)), deps).state;
          expect(s.proposal).toBe(1);
          // Nobody approves proposal 1, so it must fall back to the median.
          for (let id = 1; id <= 2 * f + 1; id++)
            s = leaderReducer(s, revealEv(s, id, value(id), false), deps).state;
          expect(s.proposal).toBe(2);
          const sorted = [...honest].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
          expect(s.proposedSt! >= sorted[0]! && s.proposedSt! <= sorted.at(-1)!).toBe(true);
        },
      ),
    );
  });

  it('always catches a reveal that does not match the commitment', () => {
    fc.assert(
      fc.property(
        fc.bigInt(0n, (1n << 256n) - 1n),
        fc.bigInt(0n, (1n << 256n) - 1n),
        fc.boolean(),
        (committed, revealed, sameValue) => {
          const p = proposed({ 1: 100n, 2: committed, 3: 100n });
          // Either another value with the right nonce, or the right value with another nonce.
          fc.pre(sameValue || committed !== revealed);
          const over = sameValue ? { nonce: nonce(2, 42) } : {};
          const r = leaderReducer(
            p.state,
            revealEv(p.state, 2, sameValue ? committed : revealed, true, over),
            deps,
          );
          expect(rejections(r.outputs)).toEqual(['commitment_mismatch']);
          expect(r.state.liars).toEqual([2]);
        },
      ),
    );
  });
});
