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
