import { Registry } from '@whitepay/base';
import * as bls from '@whitepay/bls';
import {
  g1ToEip2537,
  g2FromEip2537,
  publicKeyOf,
  secretKeyFromSeed,
  sign,
  toHex,
  verifyAggregate,
} from '@whitepay/bls';
import { encodeGroup } from '@whitepay/contracts';
import {
  batchPaymentMessage,
  decodeBatchEntries,
  followerCommit,
  followerRespond,
  idleBits,
  type RecordRef,
  roundEntriesOf,
} from '@whitepay/core';
import { pino } from 'pino';
import { type Address, getAddress, type Hex, hexToBytes, stringToBytes } from 'viem';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { UpkeepingView } from '../chain/view.js';
import { createMetrics } from '../metrics.js';
import { bodyToLeaderMessage, commitReplyToBody, revealToBody } from '../peer/messages.js';
import { itemsOfJob, type LeaderDeps, type RoundJob, roundInfoOfJob, runLeaderRound } from './driver.js';
import type { RoundRecord } from './store.js';

vi.mock('@whitepay/bls', async (importOriginal) => {
  const real = await importOriginal<typeof import('@whitepay/bls')>();
  return { ...real, verify: vi.fn(real.verify), verifyShares: vi.fn(real.verifyShares) };
});

// Rounds of one and of three entries led by keeper 1 of 4, threshold 2, driven
// through the one driver `runLeaderRound` with in-memory peers (the wire bodies of the real protocol), store, chain
// view and submitter: the approvals are verified in batches and a bad share is
// left out without blocking the quorum.

const chainId = 31337n;
const ids = [1, 2, 3, 4];
const sks = new Map(ids.map((id) => [id, secretKeyFromSeed(new Uint8Array(32).fill(id + 40))]));
const account = (id: number) => getAddress(`0x${id.toString(16).padStart(40, '0')}`);
const upkeeping: Address = getAddress('0x00000000000000000000000000000000000000c3');
const view: UpkeepingView = {
  upkeeping,
  user: getAddress('0x00000000000000000000000000000000000000a1'),
  block: 200n,
  H: 100n,
  T: 10n,
  threshold: 2, // f + 1, the default
  members: ids.map((keeperId) => ({
    keeperId,
    account: account(keeperId),
    publicKey: publicKeyOf(sks.get(keeperId)!),
  })),
  group: encodeGroup(
    ids.map((keeperId) => ({
      keeperId,
      account: account(keeperId),
      publicKey: toHex(g1ToEip2537(publicKeyOf(sks.get(keeperId)!))),
    })),
  ),
  providers: [],
};
const pids = [0xb2, 0xb3, 0xb4].map((n) => getAddress(`0x${n.toString(16).padStart(40, '0')}`));
const jobOf = (k: number): RoundJob => ({
  upkeeping,
  user: view.user,
  leaderId: 1,
  r: 1,
  items: pids.slice(0, k).map((pid) => ({ pid, ts: '100', te: '150', cycle: '1' })),
  claim: '0x01',
});
const nonce = (id: number) => `0x${id.toString(16).padStart(64, '0')}` as Hex;

/**
 * `idle`: keepers whose records nobody holds (SPEC 3 item 5); `falseVouch`: member 3 also vouches for
 * keeper 4 with a record it does not have (block 130), which the leader's fetch does not find.
 */
function setup(k: number, idle: readonly number[] = [], falseVouch = false) {
  const job = jobOf(k);
  const info = roundInfoOfJob(job);
  const items = itemsOfJob(job);
  const STS = items.map((_, i) => 1000n + BigInt(i));
  const IDLE = items.map(() => idleBits(ids, idle));
  /** What member `m` holds of each entry: a record at block 120 of every keeper but the idle ones. */
  const held = (m: number, withSelf: boolean): RecordRef[][] =>
    items.map(() => [
      ...ids
        .filter((kid) => (withSelf || kid !== m) && !idle.includes(kid))
        .map((keeperId) => ({ keeperId, block: 120n })),
      ...(falseVouch && m === 3 ? [{ keeperId: 4, block: 130n }] : []),
    ]);
  /** The list's payment message: for a list of one too (the single message is gone). */
  const messageOf = (sts: readonly bigint[]) =>
    hexToBytes(
      batchPaymentMessage({
        chainId,
        upkeeping,
        user: view.user,
        leaderId: 1,
        entries: roundEntriesOf(items, sts, IDLE),
      }),
    );
  /** A member's reveal for a proposal; `bad` members sign other bytes (a valid point that does not verify). */
  const reveal = (id: number, msg: Parameters<typeof followerRespond>[0], bad: ReadonlySet<number>) =>
    followerRespond(msg, STS, nonce(id), 100n, (sts) =>
      toHex(sign(sks.get(id)!, bad.has(id) ? stringToBytes('garbage') : messageOf(sts))),
    );

  function deps(bad: ReadonlySet<number>) {
    let stored: RoundRecord | null = null;
    const fetched: RecordRef[] = [];
    const submitted: { signers: number[]; signature: Hex; entries: Hex; kind: string; tid: Hex }[] = [];
    const metrics = createMetrics(new Registry());
    // The three peers answer each broadcast together (as over a LAN to a busy leader), so their
    // answers queue behind one another.
    const waiting: (() => void)[] = [];
    const together = () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length === ids.length - 1) for (const w of waiting.splice(0)) w();
      });
    const d = {
      keeperId: 1,
      chain: {
        viewAt: async () => view,
        chainId: async () => Number(chainId),
        current: async () => ({ ...view, providers: pids.map((pid) => ({ pid, ts: 100n })) }),
      },
      st: { computeStBatch: async () => STS },
      store: {
        getRound: async () => stored,
        putRound: async (r: RoundRecord) => {
          stored = r;
        },
        // The leader's own commitment: what it holds itself.
        getCommit: async () => ({ held: held(1, true) }),
      },
      fetchRecord: async (_info: unknown, _pid: unknown, ref: RecordRef) => {
        fetched.push(ref);
        return false;
      },
      peers: {
        round: async (m: number, _group: unknown, body: Parameters<typeof bodyToLeaderMessage>[0]) => {
          const { msg } = bodyToLeaderMessage(body);
          await together();
          if (msg.kind === 'commit_request')
            return commitReplyToBody(followerCommit(msg, STS, nonce(m)), info, held(m, false));
          if (msg.kind === 'propose') return revealToBody(reveal(m, msg, bad), info);
          throw new Error('no sync in this test');
        },
      },
      follower: {
        commit: async (_me: number, _i: unknown, msg: Parameters<typeof followerCommit>[0]) => ({
          reply: followerCommit(msg, STS, nonce(1)),
          vouches: held(1, false),
        }),
        records: null,
        reveal: async (_me: number, _i: unknown, msg: Parameters<typeof followerRespond>[0]) =>
          reveal(1, msg, bad),
        sync: async () => 0,
      },
      payments: {
        submitAndWait: async (req: (typeof submitted)[number]) => {
          submitted.push(req);
          return { status: 'confirmed' as const };
        },
      },
      settlement: async () => ({ amount: '0', entries: [] }),
      metrics,
      log: pino({ level: 'silent' }),
      peerDeadlineMs: 5_000,
      peerDeadlineGrowth: 2,
      peerDeadlineMaxMs: 10_000,
      peerDeadlinePerEntryMs: 0,
      syncDeadlineMs: 5_000,
      maxAttempts: 3,
    };
    return { d: d as unknown as LeaderDeps, submitted, metrics, fetched };
  }
  return { job, info, items, STS, IDLE, messageOf, deps };
}

/** The keeper ids of `pay`'s signer indices (0-based positions in the group, which is in id order here). */
const signerIds = (signers: number[]) => signers.map((i) => ids[i]!);

beforeEach(() => {
  vi.mocked(bls.verify).mockClear();
  vi.mocked(bls.verifyShares).mockClear();
});

describe.each([1, 3])('runLeaderRound over %i entries: approval shares', (k) => {
  const { job, info, STS, messageOf, deps } = setup(k);

  it('all honest: the approvals are verified in batches and the aggregate verifies', async () => {
    const { d, submitted } = deps(new Set());
    const rec = await runLeaderRound(job, d);
    expect(rec.outcome).toBe('confirmed');
    expect(submitted).toHaveLength(1);
    const sizes = vi.mocked(bls.verifyShares).mock.calls.map((c) => c[1].length);
    expect(Math.max(...sizes)).toBeGreaterThanOrEqual(2); // answers queued together went in one call
    expect(bls.verify).not.toHaveBeenCalled(); // every verdict came from a batch
    const signers = Object.keys(rec.state.approvals).map(Number);
    expect(signers).toHaveLength(view.threshold);
    const agg = g2FromEip2537(hexToBytes(submitted[0]!.signature));
    expect(
      verifyAggregate(
        signers.map((id) => publicKeyOf(sks.get(id)!)),
        messageOf(STS),
        agg,
      ),
    ).toBe(true);
    // One submit kind: the list (payBatch), k entries packed, the round id as tid; no `kind` is sent.
    expect(submitted[0]!.kind).toBeUndefined();
    expect(submitted[0]!.tid).toBe(info.tid);
    expect(decodeBatchEntries(submitted[0]!.entries).map((e) => e.st)).toEqual(STS);
  });

  it('one member signs garbage: its share is named and left out, the quorum of the others pays', async () => {
    const { d, submitted, metrics } = deps(new Set([2]));
    const rec = await runLeaderRound(job, d);
    expect(rec.outcome).toBe('confirmed');
    expect(Object.keys(rec.state.approvals).map(Number).sort()).toEqual([1, 3]);
    expect(signerIds(submitted[0]!.signers)).not.toContain(2);
    const agg = g2FromEip2537(hexToBytes(submitted[0]!.signature));
    expect(
      verifyAggregate(
        [1, 3].map((id) => publicKeyOf(sks.get(id)!)),
        messageOf(STS),
        agg,
      ),
    ).toBe(true);
    const rejected = await metrics.rejected.get();
    expect(rejected.values.find((v) => v.labels.reason === 'bad_signature')?.value).toBe(1);
  });

  it('two of four sign garbage: no quorum, the round fails (after its attempts) instead of paying', async () => {
    const { d, submitted } = deps(new Set([2, 3]));
    const rec = await runLeaderRound(job, { ...d, maxAttempts: 1 });
    expect(rec.outcome).toBe('failed');
    expect(submitted).toHaveLength(0);
  });
});

describe.each([1, 3])('runLeaderRound over %i entries: idle sets (SPEC 3 item 5)', (k) => {
  it('a keeper nobody vouches for is idle in every entry: the signed entries and the submitted ones carry it', async () => {
    const { job, STS, IDLE, messageOf, deps } = setup(k, [4]);
    const { d, submitted, fetched } = deps(new Set());
    const rec = await runLeaderRound(job, d);
    expect(rec.outcome).toBe('confirmed');
    expect(IDLE[0]).toBe(1n << 3n);
    expect(rec.idle?.entries.map((e) => e.idle)).toEqual(Array.from({ length: k }, () => [4]));
    // Every active member is vouched for by a record the leader holds itself: nothing fetched.
    expect(fetched).toEqual([]);
    expect(rec.idle?.entries[0]?.active.map((r) => r.keeperId)).toEqual([1, 2, 3]);
    const entries = decodeBatchEntries(submitted[0]!.entries);
    expect(entries.map((e) => e.idle)).toEqual(IDLE);
    const signers = Object.keys(rec.state.approvals).map(Number);
    const agg = g2FromEip2537(hexToBytes(submitted[0]!.signature));
    expect(
      verifyAggregate(
        signers.map((id) => publicKeyOf(sks.get(id)!)),
        messageOf(STS),
        agg,
      ),
    ).toBe(true);
  });

  it('a false vouch for an idle keeper is checked (fetched, not found) and changes nothing', async () => {
    const { job, IDLE, deps } = setup(k, [4], true);
    const { d, submitted, fetched } = deps(new Set());
    const rec = await runLeaderRound(job, d);
    expect(rec.outcome).toBe('confirmed');
    expect(fetched).toEqual(Array.from({ length: k }, () => ({ keeperId: 4, block: 130n })));
    expect(decodeBatchEntries(submitted[0]!.entries).map((e) => e.idle)).toEqual(IDLE);
  });
});
