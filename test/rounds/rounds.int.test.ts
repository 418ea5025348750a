import { splitReward, tid as tidOf } from '@whitepay/core';
import { SequenceClock, sealEnvelope } from '@whitepay/peer';
import { keeperV1 } from '@whitepay/proto';
import { call, insecure } from '@whitepay/rpc';
import { type Address, hexToBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anvilKey } from '../../services/chain-submitter/src/testing/harness.js';
import { type Cluster, type Keeper, startCluster } from './cluster.js';

const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };

describe('payment rounds across 4 keepers (real anvil, NATS, Redis, chain-submitters, coordinators)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ n: 4 });
  }, 120_000);
  afterAll(async () => {
    await c?.stop();
  });

  it('the rank-1 leader pays in its window with the exact split', async () => {
    const ts = await c.nextTs();
    const before = await c.balances();
    const leader = c.ranking(ts)[0]!;
    await c.mineTo(ts + c.u.H);
    await c.waitPaid(ts);
    const p = await c.lastPayment();
    expect(p.ts).toBe(ts);
    expect(p.leaderId).toBe(leader.id);
    expect(p.st).toBe(1_000_000n);
    const after = await c.balances();
    const split = splitReward({ amount: p.amount, keeperCount: 4 });
    expect(p.amount).toBe(1_000_000n); // price 1e18 per byte·block scaled by 1e18
    expect(after.provider - before.provider).toBe(split.provider);
    for (const k of c.keepers)
      expect(after.keepers.get(k.id)! - before.keepers.get(k.id)!).toBe(split.perKeeper);
    expect(await c.roundOf(leader, ts)).toMatchObject({
      outcome: 'confirmed',
      phase: 'submitted',
      attempt: 1,
    });
    const sched = (
      await leader.coord!.http.inject({
        method: 'GET',
        url: `/v1/schedule/${c.u.user.account.address}/${c.u.pid}?ts=${ts}`,
      })
    ).json();
    expect(sched.windows.map((w: { keeperId: number }) => w.keeperId)).toEqual(
      c.ranking(ts).map((k) => k.id),
    );
    expect(sched.windows[0]).toMatchObject({
      position: 1,
      start: String(ts + c.u.H),
      end: String(ts + c.u.H + c.u.T),
    });
    const ready = await leader.coord!.http.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
  });

  const reset = async () => {
    for (const k of c.keepers) {
      k.answers.own = 1_000_000n;
      delete k.answers.withPeers;
      if (k.coord) {
        const res = await k.coord.http.inject({
          method: 'PUT',
          url: '/v1/admin/fault',
          headers: ADMIN,
          payload: { fault: 'none' },
        });
        expect(res.statusCode).toBe(200);
      }
    }
  };
  const signed = (p: { signers: bigint }, k: Keeper) => ((p.signers >> BigInt(k.key.index - 1)) & 1n) === 1n;

  it('a stopped rank-1 leader is replaced by rank 2 in its window and gets no share', async () => {
    await reset();
    const ts = await c.nextTs();
    const [rank1, rank2] = c.ranking(ts) as [Keeper, Keeper];
    await c.stopCoordinator(rank1);
    const before = await c.balances();
    await c.mineTo(ts + c.u.H + c.u.T); // the first block of rank 2's window
    await c.waitPaid(ts);
    const p = await c.lastPayment();
    expect(p.leaderId).toBe(rank2.id);
    expect(p.te).toBeGreaterThanOrEqual(ts + c.u.H + c.u.T);
    expect(p.te).toBeLessThan(ts + c.u.H + 2n * c.u.T);
    const after = await c.balances();
    const split = splitReward({ amount: p.amount, keeperCount: 3 });
    expect(after.provider - before.provider).toBe(split.provider);
    expect(after.keepers.get(rank1.id)! - before.keepers.get(rank1.id)!).toBe(0n);
    for (const k of c.keepers.filter((k) => k !== rank1)) {
      expect(after.keepers.get(k.id)! - before.keepers.get(k.id)!).toBe(split.perKeeper);
    }
    expect(await c.roundOf(rank2, ts)).toMatchObject({ outcome: 'confirmed', r: 2 });
    await c.startCoordinator(rank1);
  });

  it('one keeper lying about st: the payment still carries the honest value', async () => {
    await reset();
    const ts = await c.nextTs();
    const [leader, , liar] = c.ranking(ts) as [Keeper, Keeper, Keeper];
    const res = await liar.coord!.http.inject({
      method: 'PUT',
      url: '/v1/admin/fault',
      headers: ADMIN,
      payload: { fault: 'lie-st:3' },
    });
    expect(res.json()).toEqual({ fault: 'lie-st:3' });
    await c.mineTo(ts + c.u.H);
    await c.waitPaid(ts);
    const p = await c.lastPayment();
    expect(p.leaderId).toBe(leader.id);
    expect(p.st).toBe(1_000_000n);
    expect(signed(p, liar)).toBe(false);
  });

  it('one keeper signing garbage: its signature is left out and the payment lands', async () => {
    await reset();
    const ts = await c.nextTs();
    const [leader, bad] = c.ranking(ts) as [Keeper, Keeper];
    bad.coord!.setFault({ kind: 'garbage-sig' });
    await c.mineTo(ts + c.u.H);
    await c.waitPaid(ts);
    const p = await c.lastPayment();
    expect(p.leaderId).toBe(leader.id);
    expect(p.st).toBe(1_000_000n);
    expect(signed(p, bad)).toBe(false);
    expect(await c.roundOf(leader, ts)).toMatchObject({ outcome: 'confirmed' });
  });

  it('a proposal beyond tolerance of the others: the median re-proposal pays', async () => {
    await reset();
    const ts = await c.nextTs();
    const [leader, a, b, d] = c.ranking(ts) as [Keeper, Keeper, Keeper, Keeper];
    leader.answers.own = 1_500_000n;
    a.answers.own = 1_000_000n;
    b.answers.own = 1_000_050n;
    d.answers.own = 999_990n;
    await c.mineTo(ts + c.u.H);
    await c.waitPaid(ts);
    const p = await c.lastPayment();
    expect(p.leaderId).toBe(leader.id);
    expect([1_000_000n, 1_000_050n, 999_990n]).toContain(p.st);
    expect(await c.roundOf(leader, ts)).toMatchObject({ outcome: 'confirmed', proposal: 2, attempt: 1 });
  });

  it('values too spread for any quorum: full sync, then the round pays the synced value', async () => {
    await reset();
    const ts = await c.nextTs();
    const [leader] = c.ranking(ts) as [Keeper];
    c.keepers.forEach((k, i) => {
      k.answers.own = (1_000_000n * 12n ** BigInt(i)) / 10n ** BigInt(i); // 20% apart, tolerance 1%
      k.answers.withPeers = 1_300_000n;
    });
    await c.mineTo(ts + c.u.H);
    await c.waitPaid(ts);
    const p = await c.lastPayment();
    expect(p.st).toBe(1_300_000n);
    expect(await c.roundOf(leader, ts)).toMatchObject({ outcome: 'confirmed', attempt: 2, synced: true });
    const metrics = await (await leader.coord!.http.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/whitepay_round_full_syncs_total\{[^}]*\} 1/);
  });

  it('replayed, out-of-group, forged and non-leader messages are rejected and counted', async () => {
    await reset();
    const target = c.keepers[0]!;
    const member = c.keepers[1]!;
    const client = new keeperV1.KeeperPeerServiceClient(`127.0.0.1:${target.coord!.grpcPort()}`, insecure());
    const clock = new SequenceClock();
    const ts = await c.nextTs();
    await c.mineTo(ts + 2n);
    const te = ts + 1n; // mined, before any leader window: nobody leads there
    const user = c.u.user.account.address;
    const base = { user, pid: c.u.pid, ts, te, leaderId: member.id, r: 1 };
    const round = {
      tid: hexToBytes(tidOf(base)),
      user: hexToBytes(user),
      pid: hexToBytes(c.u.pid),
      ts,
      te,
      leaderId: member.id,
      position: 1,
      attempt: 1,
      upkeeping: hexToBytes(c.u.upkeeping),
    };
    const message = () => ({
      sequence: clock.next(),
      body: { $case: 'commitRequest' as const, value: { round, includePeers: false } },
    });
    const send = async (envelope: keeperV1.SignedEnvelope) => {
      try {
        await call(client, client.round, { envelope }, { deadlineMs: 5_000 });
        return 'accepted';
      } catch (err) {
        return (err as { code: string }).code;
      }
    };
    const memberSigner = { keeperId: member.id, account: privateKeyToAccount(anvilKey(member.key.index)) };
    const outsider = privateKeyToAccount(generatePrivateKey());
    const env = await sealEnvelope(memberSigner, c.u.upkeeping, message());
    expect(await send(env)).toBe('ROUND_NOT_LEADER');
    expect(await send(env)).toBe('PEER_REPLAY');
    expect(
      await send(await sealEnvelope({ keeperId: 999, account: outsider }, c.u.upkeeping, message())),
    ).toBe('PEER_UNKNOWN_SENDER');
    expect(
      await send(await sealEnvelope({ keeperId: member.id, account: outsider }, c.u.upkeeping, message())),
    ).toBe('PEER_BAD_SIGNATURE');
    const otherGroup = '0x000000000000000000000000000000000000dEaD' as Address;
    expect(await send(await sealEnvelope(memberSigner, otherGroup, message()))).toBe('ROUND_UNKNOWN_GROUP');
    client.close();
    const metrics = (await target.coord!.http.inject({ method: 'GET', url: '/metrics' })).body;
    for (const reason of [
      'ROUND_NOT_LEADER',
      'PEER_REPLAY',
      'PEER_UNKNOWN_SENDER',
      'PEER_BAD_SIGNATURE',
      'ROUND_UNKNOWN_GROUP',
    ]) {
      expect(metrics).toMatch(
        new RegExp(
          `whitepay_rejected_messages_total\\{[^}]*boundary="grpc:Round"[^}]*reason="${reason}"[^}]*\\} 1`,
        ),
      );
    }
  });
});
