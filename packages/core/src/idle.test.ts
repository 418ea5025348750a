import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkIdleProposal,
  decideIdle,
  idleBits,
  type RecordRef,
  type VouchesFrom,
  vouchCandidates,
} from './idle.js';
import { idleMembers } from './split.js';

const members = [3, 5, 8, 13];

describe('idle set (SPEC 3 item 5)', () => {
  it('a vouch for oneself or for a non-member counts for nobody; duplicates collapse', () => {
    const c = vouchCandidates(members, [
      {
        from: 3,
        refs: [
          { keeperId: 3, block: 10n },
          { keeperId: 5, block: 11n },
          { keeperId: 99, block: 1n },
        ],
      },
      { from: 8, refs: [{ keeperId: 5, block: 11n }] },
      { from: 42, refs: [{ keeperId: 13, block: 12n }] },
    ]);
    expect(c.get(3)).toEqual([]);
    expect(c.get(5)).toEqual([{ keeperId: 5, block: 11n }]);
    expect(c.get(13)).toEqual([]);
  });

  it('a group of one: its keeper is active with no reference, and nothing else passes', async () => {
    const d = await decideIdle([7], [{ from: 7, refs: [{ keeperId: 7, block: 1n }] }], async () => false);
    expect(d).toEqual({ idle: [], active: [] });
    const base = { members: [7], self: 7, held: new Set<number>() };
    expect(checkIdleProposal({ ...base, bits: 0n, active: [] }).ok).toBe(true);
    expect(checkIdleProposal({ ...base, bits: 1n, active: [] }).ok).toBe(false);
    expect(checkIdleProposal({ ...base, bits: 0n, active: [{ keeperId: 7, block: 1n }] }).ok).toBe(false);
  });

  it('bits follow the group order, and a bit outside the group is refused', () => {
    expect(idleBits(members, [5, 13])).toBe(0b1010n);
    expect(idleMembers(members, 0b1010n)).toEqual([5, 13]);
    expect(() => idleMembers(members, 0b10000n)).toThrow(/bitmap/);
    expect(() => idleBits(members, [7])).toThrow(/not a member/);
  });

  it('a follower refuses a malformed set and one naming a keeper it holds', () => {
    const active: RecordRef[] = [
      { keeperId: 3, block: 1n },
      { keeperId: 8, block: 1n },
      { keeperId: 13, block: 2n },
    ];
    const base = { members, self: 3, bits: idleBits(members, [5]), active };
    expect(checkIdleProposal({ ...base, held: new Set([8, 13]) })).toEqual({ ok: true, idle: [5] });
    expect(checkIdleProposal({ ...base, held: new Set([5]) })).toEqual({
      ok: false,
      reason: 'IDLE_SET_NAMES_HELD_KEEPER',
      keeperId: 5,
    });
    // Its own idleness is not a member's to dispute from its own records.
    expect(checkIdleProposal({ ...base, self: 5, held: new Set([5]) }).ok).toBe(true);
    expect(checkIdleProposal({ ...base, active: active.slice(1), held: new Set() })).toMatchObject({
      reason: 'IDLE_SET_MALFORMED',
    });
    expect(
      checkIdleProposal({ ...base, active: [...active, { keeperId: 5, block: 1n }], held: new Set() }),
    ).toMatchObject({ reason: 'IDLE_SET_MALFORMED', keeperId: 5 });
    expect(checkIdleProposal({ ...base, bits: 1n << 4n, held: new Set() })).toMatchObject({
      reason: 'IDLE_SET_MALFORMED',
    });
  });

  /**
   * Random groups of n = 3f+1 with up to f liars. Ground truth: which keepers
   * really challenged (have records) and which records each member holds
   * (honest members hold a random subset of the real ones). Liars vouch for
   * anyone with made-up blocks and withhold at will; `verify` answers from
   * the ground truth (the fetch and re-verification of a real record).
   */
  it('property: liars cannot make an idle keeper active, and an honest leader passes honest checks', async () => {
    const scenario = fc.integer({ min: 1, max: 4 }).chain((f) => {
      const n = 3 * f + 1;
      return fc.record({
        n: fc.constant(n),
        liars: fc.subarray(
          Array.from({ length: n }, (_, i) => i),
          { maxLength: f },
        ),
        challenged: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
        holds: fc.array(fc.array(fc.boolean(), { minLength: n, maxLength: n }), {
          minLength: n,
          maxLength: n,
        }),
        lies: fc.array(fc.array(fc.boolean(), { minLength: n, maxLength: n }), {
          minLength: n,
          maxLength: n,
        }),
      });
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ n, liars, challenged, holds, lies }) => {
        const ids = Array.from({ length: n }, (_, i) => 100 + i);
        const liar = new Set(liars.map((i) => ids[i]!));
        // The one real record of keeper k (when it challenged) is at block 1000 + k.
        const real = (k: number) => challenged[k - 100] === true;
        const realBlock = (k: number) => 1000n + BigInt(k);
        const held = (m: number) =>
          new Set(ids.filter((k) => k !== m && real(k) && holds[m - 100]![k - 100] === true));
        const replies: VouchesFrom[] = ids.map((m) => {
          if (!liar.has(m))
            return { from: m, refs: [...held(m)].map((k) => ({ keeperId: k, block: realBlock(k) })) };
          // A liar vouches for whomever it likes with a block of no record, and withholds the rest.
          return {
            from: m,
            refs: ids
              .filter((k) => lies[m - 100]![k - 100] === true)
              .map((k) => ({ keeperId: k, block: 5n + BigInt(k) })),
          };
        });
        const verify = async (ref: RecordRef) => real(ref.keeperId) && ref.block === realBlock(ref.keeperId);
        const d = await decideIdle(ids, replies, verify);

        for (const k of ids) {
          // Nobody, liars included, makes a keeper that never challenged active.
          if (!real(k)) expect(d.idle).toContain(k);
          // A keeper whose record an honest other member holds is active.
          if (ids.some((m) => m !== k && !liar.has(m) && held(m).has(k))) expect(d.idle).not.toContain(k);
        }
        // Every reference the honest leader proposes verifies.
        for (const ref of d.active) expect(await verify(ref)).toBe(true);
        // With every honest reply counted, every honest member accepts the honest leader's set.
        const bits = idleBits(ids, d.idle);
        for (const m of ids) {
          if (liar.has(m)) continue;
          expect(checkIdleProposal({ members: ids, self: m, bits, active: d.active, held: held(m) }).ok).toBe(
            true,
          );
        }
        // A leader that marks an honestly held keeper idle is refused by the members holding it.
        const victim = ids.find((k) => ids.some((m) => m !== k && !liar.has(m) && held(m).has(k)));
        if (victim !== undefined) {
          const forged = idleBits(ids, [...d.idle, victim]);
          const active = d.active.filter((r) => r.keeperId !== victim);
          const refusers = ids.filter(
            (m) =>
              !liar.has(m) &&
              !checkIdleProposal({ members: ids, self: m, bits: forged, active, held: held(m) }).ok,
          );
          expect(refusers.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });
});
