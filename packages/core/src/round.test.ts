import fc from 'fast-check';
import { type Address, concat, encodeAbiParameters, type Hex, keccak256, numberToHex, toHex } from 'viem';
import { describe, expect, it } from 'vitest';
import { EncodingError, RoundError, ToleranceError } from './errors.js';
import {
  type CommitRequest,
  commitment,
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
  MAX_ROUND_ENTRIES,
  medianVector,
  type Proposal,
  type RevealReply,
  type RoundItem,
  roundEntriesOf,
  roundId,
  serializeRoundState,
} from './round.js';

const user: Address = '0x1111111111111111111111111111111111111111';
const pidA: Address = '0x2222222222222222222222222222222222222222';
const pidB: Address = '0x3333333333333333333333333333333333333333';
const pidC: Address = '0x4444444444444444444444444444444444444444';
const items: RoundItem[] = [
  { pid: pidA, ts: 1000n, te: 1600n },
  { pid: pidB, ts: 1100n, te: 1600n },
  { pid: pidC, ts: 900n, te: 1600n },
];
const MEMBERS = [4, 1, 3, 2]; // n = 4, f = 1: commit quorum 3, threshold 2
const round: LeaderRoundInput = { user, leaderId: 1, r: 2, items, members: MEMBERS };

/** A stand-in for BLS: the "signature" of `from` over a vector. */
const sig = (from: number, sts: readonly bigint[]): Hex =>
  keccak256(encodeAbiParameters([{ type: 'uint32' }, { type: 'uint256[]' }], [from, [...sts]]));
const deps: LeaderDeps = { verifySignature: (from, sts, s) => s === sig(from, sts) };
const nonce = (from: number, attempt: number): Hex => keccak256(toHex(`nonce/${from}/${attempt}`));
const vec = (x: bigint): bigint[] => [x, x + 10n, x + 20n];

function commitEv(s: LeaderState, from: number, sts: readonly bigint[]): LeaderEvent {
  return {
    type: 'commit',
    from,
    msg: {
      kind: 'commit',
      tid: s.config.tid,
      attempt: s.attempt,
      commitment: commitment(sts, nonce(from, s.attempt)),
    },
  };
}

function revealEv(
  s: LeaderState,
  from: number,
  sts: readonly bigint[],
  approve: boolean,
  over: Partial<RevealReply> = {},
): LeaderEvent {
  const msg: RevealReply = {
    kind: 'reveal',
    tid: s.config.tid,
    attempt: s.attempt,
    proposal: s.proposal,
    sts,
    nonce: nonce(from, s.attempt),
    approve,
    ...(approve ? { signature: sig(from, s.proposedSts!) } : {}),
    ...over,
  };
  return { type: 'reveal', from, msg };
}

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

const start = (sts = vec(100n), input: Partial<LeaderRoundInput> = {}) =>
  run(createLeaderRound({ ...round, ...input }), { type: 'start', sts });

function proposed(values: Record<number, bigint[]>) {
  return run(
    start(values[1]).state,
    (s) => commitEv(s, 1, values[1]!),
    (s) => commitEv(s, 2, values[2]!),
    (s) => commitEv(s, 3, values[3]!),
  );
}

const rejections = (outputs: LeaderOutput[]) =>
  outputs.filter((o) => o.type === 'rejected').map((o) => (o as { reason: string }).reason);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('roundId and commitment', () => {
  it('hash the ordered items and the packed vector', () => {
    const id = roundId({ user, leaderId: 1, r: 2, items });
    expect(id).toMatch(/^0x[0-9a-f]{64}$/);
    expect(roundId({ user, leaderId: 1, r: 2, items: [...items].reverse() })).not.toBe(id);
    expect(roundId({ user, leaderId: 2, r: 2, items })).not.toBe(id);
    expect(roundId({ user, leaderId: 1, r: 3, items })).not.toBe(id);
    const n = nonce(1, 1);
    expect(commitment([1n, 2n], n)).toBe(
      keccak256(concat([numberToHex(1n, { size: 32 }), numberToHex(2n, { size: 32 }), n])),
    );
    expect(commitment([1n, 2n], n)).not.toBe(commitment([2n, 1n], n));
  });

  it('takes up to MAX_ROUND_ENTRIES entries, the one limit of a round', () => {
    const many = (k: number): RoundItem[] =>
      Array.from({ length: k }, (_, i) => ({
        pid: `0x${(i + 1).toString(16).padStart(40, '0')}` as Address,
        ts: 10n,
        te: 20n,
      }));
    expect(MAX_ROUND_ENTRIES).toBe(1000);
    expect(roundId({ user, leaderId: 1, r: 2, items: many(MAX_ROUND_ENTRIES) })).toMatch(/^0x/);
    expect(() => roundId({ user, leaderId: 1, r: 2, items: many(MAX_ROUND_ENTRIES + 1) })).toThrow(
      EncodingError,
    );
  });

  it.each([
    ['no items', { items: [] }],
    ['a duplicate provider', { items: [items[0]!, { ...items[0]!, ts: 5n }] }],
    ['an empty interval', { items: [{ pid: pidA, ts: 5n, te: 5n }] }],
    ['a bad pid', { items: [{ pid: '0x12' as Address, ts: 5n, te: 6n }] }],
    ['r = 0', { r: 0 }],
  ])('rejects %s', (_name, over) => {
    expect(() => roundId({ user, leaderId: 1, r: 2, items, ...over })).toThrow(EncodingError);
  });

  it('rejects an empty vector, a negative value and a short nonce', () => {
    expect(() => commitment([], nonce(1, 1))).toThrow(EncodingError);
    expect(() => commitment([-1n], nonce(1, 1))).toThrow(EncodingError);
    expect(() => commitment([1n], '0x12')).toThrow(EncodingError);
  });

  it('medianVector takes the lower median per entry', () => {
    expect(
      medianVector([
        [1n, 9n],
        [3n, 1n],
        [2n, 5n],
      ]),
    ).toEqual([2n, 5n]);
    expect(medianVector([[1n], [3n]])).toEqual([1n]);
    expect(() => medianVector([])).toThrow(ToleranceError);
  });

  it('roundEntriesOf pairs items with values and idle sets (none given: every member active)', () => {
    expect(roundEntriesOf(items, [1n, 2n, 3n])[2]).toEqual({
      pid: pidC,
      ts: 900n,
      te: 1600n,
      st: 3n,
      idle: 0n,
    });
    expect(roundEntriesOf(items, [1n, 2n, 3n], [0n, 0n, 5n])[2]).toEqual({
      pid: pidC,
      ts: 900n,
      te: 1600n,
      st: 3n,
      idle: 5n,
    });
  });
});

describe('createLeaderRound', () => {
  it('derives the id, quorum and threshold from the group', () => {
    const s = createLeaderRound(round);
    expect(s.config).toEqual({
      tid: roundId({ user, leaderId: 1, r: 2, items }),
      user,
      leaderId: 1,
      r: 2,
      items,
      members: [1, 2, 3, 4],
      commitQuorum: 3,
      threshold: 2,
      maxAttempts: DEFAULT_MAX_ATTEMPTS,
    });
    expect(s.phase).toBe('idle');
    expect(createLeaderRound({ ...round, threshold: 4, maxAttempts: 1 }).config).toMatchObject({
      threshold: 4,
      commitQuorum: 4,
      maxAttempts: 1,
    });
  });

  it.each([
    ['an empty group', { members: [] }],
    ['a duplicate member', { members: [1, 1, 2] }],
    ['a non-uint32 member', { members: [1, -2] }],
    ['a leader outside the group', { leaderId: 9 }],
    ['a threshold above n', { threshold: 5 }],
    ['a threshold below f+1', { threshold: 1 }],
    ['zero attempts', { maxAttempts: 0 }],
  ])('rejects %s', (_name, over) => {
    expect(codeOf(() => createLeaderRound({ ...round, ...over }))).toBe('ROUND_INVALID_CONFIG');
  });
});

describe('leaderReducer: the happy path and its fallbacks', () => {
  it('commits, proposes its own vector after 2f+1 commitments, submits with f+1 approvals', () => {
    const v = vec(100n);
    const s = start(v);
    expect(s.outputs).toEqual([
      {
        type: 'broadcast',
        msg: {
          kind: 'commit_request',
          tid: s.state.config.tid,
          attempt: 1,
          user,
          leaderId: 1,
          r: 2,
          items,
        },
      },
    ]);
    const p = proposed({ 1: v, 2: v, 3: vec(101n) });
    expect(p.outputs.at(-1)).toEqual({
      type: 'broadcast',
      msg: { kind: 'propose', tid: p.state.config.tid, attempt: 1, proposal: 1, sts: v, median: false },
    });
    const done = run(
      p.state,
      (st) => revealEv(st, 3, vec(101n), true),
      (st) => revealEv(st, 1, v, true),
    );
    expect(done.state.phase).toBe('submitted');
    expect(done.outputs).toEqual([
      {
        type: 'submit',
        sts: v,
        entries: roundEntriesOf(items, v),
        signers: [1, 3],
        signatures: [sig(1, v), sig(3, v)],
      },
    ]);
  });

  it('re-proposes the per-entry median when too few approve its own vector', () => {
    const values = { 1: [100n, 50n, 7n], 2: [200n, 10n, 8n], 3: [150n, 30n, 9n] };
    const p = proposed(values);
    const r = run(
      p.state,
      (st) => revealEv(st, 1, values[1], false),
      (st) => revealEv(st, 2, values[2], false),
      (st) => revealEv(st, 3, values[3], false),
    );
    expect(r.state.proposal).toBe(2);
    expect(r.outputs.at(-1)).toMatchObject({
      type: 'broadcast',
      msg: { kind: 'propose', proposal: 2, sts: [150n, 30n, 8n], median: true },
    });
  });

  it('falls back to a full sync, then a new attempt with the synced vector, then fails', () => {
    const values = { 1: vec(100n), 2: vec(200n), 3: vec(300n) };
    let r = run(
      proposed(values).state,
      (st) => revealEv(st, 1, values[1], false),
      (st) => revealEv(st, 2, values[2], false),
      (st) => revealEv(st, 3, values[3], false),
    );
    r = run(r.state, { type: 'timeout', phase: 'proposing', proposal: 2, attempt: 1 });
    expect(r.state.phase).toBe('syncing');
    expect(r.outputs).toEqual([
      { type: 'broadcast', msg: { kind: 'sync_request', tid: r.state.config.tid, attempt: 1 } },
      { type: 'full_sync', tid: r.state.config.tid, attempt: 1 },
    ]);
    r = run(r.state, { type: 'synced', sts: vec(5n) });
    expect(r.state).toMatchObject({ phase: 'committing', attempt: 2, leaderSts: vec(5n) });
    // Commit timeouts start new attempts until maxAttempts, then the round fails.
    r = run(r.state, { type: 'timeout' });
    expect(r.state.attempt).toBe(3);
    r = run(r.state, { type: 'timeout' });
    expect(r.state.phase).toBe('failed');
    expect(r.outputs).toEqual([{ type: 'failed', reason: 'no_quorum' }]);
  });

  it('fails instead of syncing on the last attempt, and restarts on a sync timeout', () => {
    const one = run(start(vec(1n), { maxAttempts: 1 }).state, { type: 'timeout' });
    expect(one.state.phase).toBe('failed');
    const values = { 1: vec(100n), 2: vec(200n), 3: vec(300n) };
    const p = proposed(values);
    // Proposal timeout with fewer than 2f+1 reveals → full sync.
    let r = run(p.state, (st) => revealEv(st, 1, values[1], false), { type: 'timeout' });
    expect(r.state.phase).toBe('syncing');
    r = run(r.state, { type: 'timeout' });
    expect(r.state).toMatchObject({ phase: 'committing', attempt: 2, leaderSts: values[1] });
    const last = createLeaderRound({ ...round, maxAttempts: 1 });
    let q = run(
      last,
      { type: 'start', sts: values[1] },
      (st) => commitEv(st, 1, values[1]),
      (st) => commitEv(st, 2, values[2]),
      (st) => commitEv(st, 3, values[3]),
    );
    q = run(q.state, (st) => revealEv(st, 1, values[1], false), { type: 'timeout' });
    expect(q.state.phase).toBe('failed');
  });

  it('ignores stale timers, timers when idle or done, and synced outside a sync', () => {
    const p = proposed({ 1: vec(1n), 2: vec(1n), 3: vec(1n) });
    for (const t of [{ attempt: 2 }, { phase: 'committing' as const }, { proposal: 2 }]) {
      expect(run(p.state, { type: 'timeout', ...t }).state).toBe(p.state);
    }
    const idle = createLeaderRound(round);
    expect(run(idle, { type: 'timeout' }).state).toBe(idle);
    expect(run(p.state, { type: 'synced', sts: vec(1n) }).state).toBe(p.state);
  });
});

describe('leaderReducer: what it rejects', () => {
  it('drops and counts bad commitments', () => {
    const s = start().state;
    const ok = commitEv(s, 2, vec(1n)) as Extract<LeaderEvent, { type: 'commit' }>;
    const r = run(
      s,
      { ...ok, from: 9 },
      { ...ok, msg: { ...ok.msg, tid: '0x01' } },
      { ...ok, msg: { ...ok.msg, attempt: 7 } },
      { ...ok, msg: { ...ok.msg, attempt: 1.5 } },
      { ...ok, msg: { ...ok.msg, commitment: '0x12' } },
      ok,
      ok,
    );
    expect(rejections(r.outputs)).toEqual([
      'not_member',
      'wrong_round',
      'wrong_attempt',
      'malformed',
      'malformed',
      'duplicate',
    ]);
    expect(r.state.rejected).toMatchObject({ duplicate: 1, malformed: 2 });
    const p = proposed({ 1: vec(1n), 2: vec(1n), 3: vec(1n) });
    expect(rejections(run(p.state, (st) => commitEv(st, 4, vec(1n))).outputs)).toEqual(['unexpected']);
    expect(rejections(run(createLeaderRound(round), ok).outputs)).toEqual(['closed']);
  });

  it('drops bad reveals and lets the member answer properly', () => {
    const v = vec(1n);
    const c = start(v);
    expect(rejections(run(c.state, (st) => revealEv(st, 2, v, false)).outputs)).toEqual(['unexpected']);
    const p = proposed({ 1: v, 2: v, 3: v });
    const r = run(
      p.state,
      (st) => revealEv(st, 2, [1n], false),
      (st) => revealEv(st, 2, v, false, { kind: 'x' as 'reveal' }),
      (st) => revealEv(st, 2, v, false, { proposal: 2 }),
      (st) => revealEv(st, 4, v, false),
      (st) =>
        ({
          ...revealEv(st, 2, v, false),
          msg: { ...(revealEv(st, 2, v, false) as { msg: RevealReply }).msg, approve: true },
        }) as LeaderEvent,
      (st) => revealEv(st, 2, v, true, { signature: sig(2, vec(2n)) }),
      (st) => revealEv(st, 2, v, true, { signature: 5 as unknown as Hex }),
      (st) => revealEv(st, 2, v, false),
      (st) => revealEv(st, 2, v, false),
    );
    expect(rejections(r.outputs)).toEqual([
      'malformed',
      'malformed',
      'wrong_proposal',
      'no_commitment',
      'missing_signature',
      'bad_signature',
      'malformed',
      'duplicate',
    ]);
    const throwing: LeaderDeps = {
      verifySignature: () => {
        throw new Error('boom');
      },
    };
    const t = leaderReducer(p.state, revealEv(p.state, 2, v, true), throwing);
    expect(rejections(t.outputs)).toEqual(['bad_signature']);
  });

  it('catches a reveal that does not match its commitment and marks the sender a liar', () => {
    const p = proposed({ 1: vec(1n), 2: vec(1n), 3: vec(1n) });
    const r = run(p.state, (st) => revealEv(st, 2, vec(2n), true));
    expect(rejections(r.outputs)).toEqual(['commitment_mismatch']);
    expect(r.state.liars).toEqual([2]);
    expect(rejections(run(r.state, (st) => revealEv(st, 2, vec(1n), true)).outputs)).toEqual(['liar']);
  });

  it('throws on caller misuse only', () => {
    const s = start().state;
    expect(codeOf(() => leaderReducer(s, { type: 'start', sts: vec(1n) }, deps))).toBe(
      'ROUND_ALREADY_STARTED',
    );
    const idle = createLeaderRound(round);
    expect(codeOf(() => leaderReducer(idle, { type: 'start', sts: [1n] }, deps))).toBe('ROUND_INVALID_EVENT');
    expect(codeOf(() => leaderReducer(s, { type: 'synced', sts: [1n, 2n, -3n] }, deps))).toBe(
      'ROUND_INVALID_EVENT',
    );
    expect(codeOf(() => leaderReducer(s, { type: 'nope' } as unknown as LeaderEvent, deps))).toBe(
      'ROUND_INVALID_EVENT',
    );
  });
});

describe('follower', () => {
  const request: CommitRequest = {
    kind: 'commit_request',
    tid: roundId({ user, leaderId: 1, r: 2, items }),
    attempt: 1,
    user,
    leaderId: 1,
    r: 2,
    items,
  };

  it('commits to its whole vector', () => {
    expect(followerCommit(request, vec(5n), nonce(2, 1))).toEqual({
      kind: 'commit',
      tid: request.tid,
      attempt: 1,
      commitment: commitment(vec(5n), nonce(2, 1)),
    });
    expect(() => followerCommit(request, [1n], nonce(2, 1))).toThrow(RoundError);
  });

  it('approves only when every entry is within tolerance', () => {
    const proposal: Proposal = {
      kind: 'propose',
      tid: request.tid,
      attempt: 1,
      proposal: 1,
      sts: [1000n, 2000n, 3000n],
      median: false,
    };
    const sign = (sts: readonly bigint[]) => sig(2, sts);
    const ok = followerRespond(proposal, [1005n, 1990n, 3000n], nonce(2, 1), 100n, sign);
    expect(ok).toEqual({
      kind: 'reveal',
      tid: request.tid,
      attempt: 1,
      proposal: 1,
      sts: [1005n, 1990n, 3000n],
      nonce: nonce(2, 1),
      approve: true,
      signature: sig(2, proposal.sts),
    });
    const one = followerRespond(proposal, [1000n, 2000n, 3100n], nonce(2, 1), 100n, sign);
    expect(one.approve).toBe(false);
    expect(one.signature).toBeUndefined();
    expect(followerRespond(proposal, [1000n], nonce(2, 1), 100n, sign).approve).toBe(false);
  });

  it('drives a whole round with the leader', () => {
    const values: Record<number, bigint[]> = {
      1: [1000n, 500n, 70n],
      2: [1001n, 501n, 70n],
      3: [999n, 499n, 70n],
      4: [1000n, 500n, 71n],
    };
    let state = createLeaderRound(round);
    let step = leaderReducer(state, { type: 'start', sts: values[1]! }, deps);
    let submitted: LeaderOutput | undefined;
    for (let guard = 0; guard < 10 && !submitted; guard++) {
      state = step.state;
      const events: LeaderEvent[] = [];
      for (const o of step.outputs) {
        if (o.type === 'submit') submitted = o;
        if (o.type !== 'broadcast') continue;
        for (const id of [1, 2, 3, 4]) {
          if (o.msg.kind === 'commit_request') {
            events.push({
              type: 'commit',
              from: id,
              msg: followerCommit(o.msg, values[id]!, nonce(id, 1)),
            });
          } else if (o.msg.kind === 'propose') {
            const m = o.msg;
            events.push({
              type: 'reveal',
              from: id,
              msg: followerRespond(m, values[id]!, nonce(id, 1), 200n, (sts) => sig(id, sts)),
            });
          }
        }
      }
      let outputs: LeaderOutput[] = [];
      for (const e of events) {
        const r = leaderReducer(state, e, deps);
        state = r.state;
        outputs = [...outputs, ...r.outputs.filter((x) => x.type !== 'rejected')];
      }
      step = { state, outputs };
    }
    expect(submitted).toMatchObject({ type: 'submit', sts: values[1], signers: [1, 2] });
  });
});

describe('serializeRoundState / deserializeRoundState', () => {
  it('round-trips states', () => {
    const p = proposed({ 1: vec(1n), 2: vec(1n), 3: vec(1n) });
    const mid = run(p.state, (st) => revealEv(st, 2, vec(1n), false)).state;
    for (const s of [createLeaderRound(round), mid]) {
      expect(deserializeRoundState(serializeRoundState(s))).toEqual(s);
    }
  });

  it('rejects states with a missing or mistyped part', () => {
    const good = JSON.parse(serializeRoundState(start().state)) as Record<string, unknown>;
    const bad: unknown[] = [
      { ...good, v: 1 },
      { ...good, v: 3 },
      { ...good, config: { ...(good.config as object), items: [{ ts: 1 }] } },
      { ...good, config: null },
      { ...good, phase: 'dancing' },
      { ...good, reveals: [] },
      { ...good, liars: {} },
      { ...good, attempt: 'x' },
    ];
    for (const b of bad) {
      expect(codeOf(() => deserializeRoundState(JSON.stringify(b)))).toBe('ROUND_STATE_INVALID');
    }
    expect(codeOf(() => deserializeRoundState('{'))).toBe('ROUND_STATE_INVALID');
    expect(codeOf(() => deserializeRoundState('{"a":{"$bigint":"x"}}'))).toBe('ROUND_STATE_INVALID');
  });
});

describe('leaderReducer properties', () => {
  const mostly = fc.integer({ min: 0, max: 7 }).map((x) => x !== 0);
  const rarely = mostly.map((x) => !x);
  const K = 3;
  const groupArb = fc.integer({ min: 1, max: 7 }).chain((n) =>
    fc.record({
      n: fc.constant(n),
      threshold: fc.option(fc.integer({ min: Math.floor((n - 1) / 3) + 1, max: n }), { nil: undefined }),
      values: fc.array(fc.array(fc.bigInt(0n, 2000n), { minLength: K, maxLength: K }), {
        minLength: n,
        maxLength: n,
      }),
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
            arbitrary: fc.record({
              t: fc.constant('synced' as const),
              sts: fc.array(fc.bigInt(0n, 2000n), { minLength: K, maxLength: K }),
            }),
          },
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
        const members = Array.from({ length: n }, (_, i) => i + 1); // `who` = n+1 is an outsider
        let state = createLeaderRound({
          ...round,
          members,
          ...(threshold === undefined ? {} : { threshold }),
        });
        state = leaderReducer(state, { type: 'start', sts: values[0]! }, deps).state;
        const value = (who: number) => values[who - 1] ?? vec(7n);
        for (const a of actions) {
          let event: LeaderEvent;
          if (a.t === 'commit') {
            const who = a.who + 1;
            const v = a.honest ? value(who) : value(who).map((x) => x + 1n);
            event = commitEv(state, who, v);
          } else if (a.t === 'reveal') {
            const who = a.who + 1;
            const target = state.proposedSts ?? [0n, 0n, 0n];
            const signature =
              a.sigKind === 'valid'
                ? sig(who, target)
                : a.sigKind === 'bad'
                  ? sig(
                      who,
                      target.map((x) => x + 1n),
                    )
                  : undefined;
            event = {
              type: 'reveal',
              from: who,
              msg: {
                kind: 'reveal',
                tid: state.config.tid,
                attempt: state.attempt,
                proposal: state.proposal,
                sts: value(who),
                nonce: a.lie ? nonce(who, 999) : nonce(who, state.attempt),
                approve: a.approve,
                ...(signature === undefined ? {} : { signature }),
              },
            };
          } else if (a.t === 'timeout') {
            event = { type: 'timeout' };
          } else {
            event = { type: 'synced', sts: a.sts };
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
              expect(o.sts).toEqual(before.proposedSts);
              expect(o.entries).toEqual(roundEntriesOf(items, o.sts));
              o.signers.forEach((id, i) => {
                expect(members).toContain(id);
                expect(state.liars).not.toContain(id);
                expect(deps.verifySignature(id, o.sts, o.signatures[i]!)).toBe(true);
                expect(state.reveals[id]).toEqual(value(id));
              });
            }
          }
          expect(deserializeRoundState(serializeRoundState(state))).toEqual(state);
        }
      }),
      { numRuns: 120 },
    );
    expect(submits).toBeGreaterThan(5);
  });

  it('re-proposes a per-entry median within the honest values when up to f members lie', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((f) =>
          fc.record({
            f: fc.constant(f),
            honest: fc.array(fc.array(fc.bigInt(1n, 10n ** 30n), { minLength: K, maxLength: K }), {
              minLength: f + 1,
              maxLength: f + 1,
            }),
            lies: fc.array(fc.array(fc.bigInt(0n, (1n << 256n) - 1n), { minLength: K, maxLength: K }), {
              minLength: f,
              maxLength: f,
            }),
          }),
        ),
        ({ f, honest, lies }) => {
          const n = 3 * f + 1;
          const members = Array.from({ length: n }, (_, i) => i + 1);
          const value = (id: number) => (id <= f + 1 ? honest[id - 1]! : lies[id - f - 2]!);
          let s = createLeaderRound({ ...round, members });
          s = leaderReducer(s, { type: 'start', sts: value(1) }, deps).state;
          for (let id = 1; id <= 2 * f + 1; id++)
            s = leaderReducer(s, commitEv(s, id, value(id)), deps).state;
          for (let id = 1; id <= 2 * f + 1; id++) {
            s = leaderReducer(s, revealEv(s, id, value(id), false), deps).state;
          }
          expect(s.proposal).toBe(2);
          for (let i = 0; i < K; i++) {
            const hv = honest.map((h) => h[i]!);
            const sorted = hv.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
            expect(s.proposedSts![i]! >= sorted[0]! && s.proposedSts![i]! <= sorted.at(-1)!).toBe(true);
          }
        },
      ),
    );
  });
});
