import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkDeadline, clientKeyOf, createAdmission } from './admission.js';

const insecure = { transport: 'insecure' as const, identity: undefined };

describe('admission', () => {
  it('refuses over the per-client and the total bound at once, and frees a slot when a call ends', async () => {
    const a = createAdmission({ name: 't', total: 3, perClient: 2 });
    const gates: Array<() => void> = [];
    const hold = () => new Promise<void>((r) => gates.push(r));
    const p1 = a.run('x', hold);
    const p2 = a.run('x', hold);
    await expect(a.run('x', hold)).rejects.toMatchObject({ code: 'RPC_BUSY', kind: 'unavailable' });
    const p3 = a.run('y', hold);
    await expect(a.run('z', hold)).rejects.toMatchObject({ code: 'RPC_BUSY', details: { total: 3 } });
    expect(a.running).toBe(3);
    gates.shift()!();
    await p1;
    const p4 = a.run('x', hold);
    for (const g of gates.splice(0)) g();
    await Promise.all([p2, p3, p4]);
    expect(a.running).toBe(0);
  });

  it("queues a client's calls beyond its bound in its own queue, and refuses beyond that queue", async () => {
    const a = createAdmission({ name: 't', total: 4, perClient: 2, queuePerClient: 2 });
    const gates: Array<() => void> = [];
    const hold = () => new Promise<void>((r) => gates.push(r));
    const mine = [a.run('x', hold), a.run('x', hold), a.run('x', hold), a.run('x', hold)];
    await expect(a.run('x', hold)).rejects.toMatchObject({
      code: 'RPC_BUSY',
      details: { clientRunning: 2, clientWaiting: 2 },
    });
    expect([a.running, a.waiting]).toEqual([2, 2]);
    // Another client runs at once in the slots x may not take.
    const other = a.run('y', async () => 'y');
    await expect(other).resolves.toBe('y');
    gates.shift()!();
    await mine[0];
    await new Promise((r) => setImmediate(r));
    expect([a.running, a.waiting]).toEqual([2, 1]);
    while (gates.length || a.running) {
      for (const g of gates.splice(0)) g();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(mine);
    expect([a.running, a.waiting]).toEqual([0, 0]);
  });

  it('hands a freed slot to the next waiting client in turn, not to the one that queued most', async () => {
    const a = createAdmission({ name: 't', total: 1, perClient: 1, queuePerClient: 8 });
    const order: string[] = [];
    const gates: Array<() => void> = [];
    const job = (who: string) => () => {
      order.push(who);
      return new Promise<void>((r) => gates.push(r));
    };
    const all = [a.run('x', job('x1'))];
    for (let i = 2; i <= 4; i++) all.push(a.run('x', job(`x${i}`)));
    all.push(a.run('y', job('y1')));
    while (order.length < 5) {
      await new Promise((r) => setImmediate(r));
      gates.shift()?.();
    }
    await Promise.all(all.map((p) => p.catch(() => undefined)));
    for (const g of gates.splice(0)) g();
    // y queued after three of x's calls, yet runs right after the call that was running.
    expect(order.slice(0, 2)).toEqual(['x1', 'y1']);
  });

  it('ends a queued call whose deadline passes with DEADLINE_EXCEEDED and frees its place', async () => {
    const a = createAdmission({ name: 't', total: 1, perClient: 1, queuePerClient: 1 });
    let release!: () => void;
    const first = a.run('x', () => new Promise<void>((r) => (release = r)));
    await expect(a.run('x', async () => 1, new Date(Date.now() + 20))).rejects.toMatchObject({
      code: 'DEADLINE_EXCEEDED',
    });
    expect(a.waiting).toBe(0);
    const third = a.run('x', async () => 3);
    release();
    await first;
    await expect(third).resolves.toBe(3);
  });

  it('never runs more than its bounds, and runs every admitted call (random arrivals and durations)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 3 })), {
          minLength: 1,
          maxLength: 30,
        }),
        async (total, perClient, queuePerClient, calls) => {
          const a = createAdmission({ name: 't', total, perClient, queuePerClient });
          const now = new Map<string, number>();
          let peak = 0;
          let ran = 0;
          let refused = 0;
          const tick = () => new Promise((r) => setImmediate(r));
          const runs = calls.map(async ([c, ticks]) => {
            try {
              await a.run(c, async () => {
                const mine = (now.get(c) ?? 0) + 1;
                now.set(c, mine);
                expect(mine).toBeLessThanOrEqual(perClient);
                peak = Math.max(
                  peak,
                  [...now.values()].reduce((x, y) => x + y, 0),
                );
                for (let i = 0; i < ticks; i++) await tick();
                now.set(c, now.get(c)! - 1);
                ran++;
              });
            } catch (err) {
              expect(err).toMatchObject({ code: 'RPC_BUSY' });
              refused++;
            }
          });
          await Promise.all(runs);
          expect(peak).toBeLessThanOrEqual(total);
          expect(ran + refused).toBe(calls.length);
          expect([a.running, a.waiting]).toEqual([0, 0]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('frees the slot when the call throws', async () => {
    const a = createAdmission({ name: 't', total: 1, perClient: 1 });
    await expect(a.run('x', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(a.run('x', async () => 1)).resolves.toBe(1);
  });

  it('keys clients by certified keeper, else by IP without the port', () => {
    expect(clientKeyOf({ peer: 'ipv4:10.0.0.7:51234', security: insecure })).toBe('10.0.0.7');
    expect(clientKeyOf({ peer: 'ipv6:[::1]:4000', security: insecure })).toBe('::1');
    expect(
      clientKeyOf({
        peer: 'ipv4:10.0.0.7:1',
        security: { transport: 'ssl', identity: { keeperId: 3, account: `0x${'00'.repeat(20)}` } },
      }),
    ).toBe('keeper:3');
  });

  it('throws DEADLINE_EXCEEDED once the deadline passed', () => {
    expect(() => checkDeadline(new Date(Date.now() - 1), 'x')).toThrow(
      expect.objectContaining({ code: 'DEADLINE_EXCEEDED' }),
    );
    expect(() => checkDeadline(new Date(Date.now() + 60_000), 'x')).not.toThrow();
    expect(() => checkDeadline(undefined, 'x')).not.toThrow();
  });
});
