import { keeperV1 } from '@whitepay/proto';
import fc from 'fast-check';
import { type Address, concat, hexToBytes, keccak256, sha256, stringToBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  CLOCK_SKEW_MS,
  ENVELOPE_MAX_TTL_MS,
  ENVELOPE_TTL_MS,
  envelopeDigest,
  type Group,
  MemorySeenSet,
  openEnvelope,
  PeerError,
  ReplayGuard,
  SequenceClock,
  sealEnvelope,
} from './index.js';

const upkeeping: Address = '0x00000000000000000000000000000000000000aa';
const accounts = [0, 1, 2, 3].map(() => privateKeyToAccount(generatePrivateKey()));
const group: Group = { upkeeping, members: new Map(accounts.map((a, i) => [i, a.address])) };
const clock = new SequenceClock();
const ack = (): keeperV1.PeerMessage => ({
  sequence: clock.next(),
  body: { $case: 'ack', value: { ok: true } },
});
const signer = (i: number) => ({ keeperId: i, account: accounts[i]! });
/** Keeper 0 opens what it receives. */
const at0 = (replay = new ReplayGuard(), nowMs?: number) => ({
  self: 0,
  replay,
  ...(nowMs ? { nowMs } : {}),
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    expect(err).toBeInstanceOf(PeerError);
    return (err as PeerError).code;
  }
}

describe('signed peer envelopes', () => {
  it('accepts a member message once and rejects its replay', async () => {
    const guard = new ReplayGuard();
    const env = await sealEnvelope(signer(1), { upkeeping, receiverId: 0 }, ack());
    const opened = await openEnvelope(env, group, at0(guard));
    expect(opened.senderId).toBe(1);
    expect(opened.message.body).toEqual({ $case: 'ack', value: { ok: true } });
    expect(await code(openEnvelope(env, group, at0(guard)))).toBe('PEER_REPLAY');
  });

  it('a replay is refused by a new guard on the same seen set (a restarted receiver, another replica)', async () => {
    const seen = new MemorySeenSet();
    const env = await sealEnvelope(signer(1), { upkeeping, receiverId: 0 }, ack());
    expect(await code(openEnvelope(env, group, at0(new ReplayGuard(seen))))).toBe('accepted');
    expect(await code(openEnvelope(env, group, at0(new ReplayGuard(seen))))).toBe('PEER_REPLAY');
  });

  it('an envelope for one keeper is refused by every other, and none is taken from oneself', async () => {
    const env = await sealEnvelope(signer(1), { upkeeping, receiverId: 2 }, ack());
    expect(await code(openEnvelope(env, group, at0()))).toBe('PEER_WRONG_RECEIVER');
    expect(await code(openEnvelope(env, group, { self: 3, replay: new ReplayGuard() }))).toBe(
      'PEER_WRONG_RECEIVER',
    );
    expect(await code(openEnvelope(env, group, { self: 2, replay: new ReplayGuard() }))).toBe('accepted');
    // Keeper 0's own key and id, addressed to keeper 0: a reflected message.
    const own = await sealEnvelope(signer(0), { upkeeping, receiverId: 0 }, ack());
    expect(await code(openEnvelope(own, group, at0()))).toBe('PEER_FROM_SELF');
  });

  it('an expired envelope, or one valid further ahead than a receiver accepts, is refused', async () => {
    const now = Date.now();
    const old = await sealEnvelope(signer(1), { upkeeping, receiverId: 0 }, ack(), {
      nowMs: now - 3_600_000,
    });
    expect(await code(openEnvelope(old, group, at0()))).toBe('PEER_EXPIRED');
    const far = await sealEnvelope(signer(1), { upkeeping, receiverId: 0 }, ack(), {
      ttlMs: ENVELOPE_MAX_TTL_MS + CLOCK_SKEW_MS + 60_000,
    });
    expect(await code(openEnvelope(far, group, at0()))).toBe('PEER_EXPIRED');
    // Within the skew on either side: accepted.
    const late = await sealEnvelope(signer(1), { upkeeping, receiverId: 0 }, ack(), {
      nowMs: now - ENVELOPE_TTL_MS - CLOCK_SKEW_MS / 2,
    });
    expect(await code(openEnvelope(late, group, at0()))).toBe('accepted');
    // A valid envelope replayed once it expired: refused as expired, not by the seen set.
    const env = await sealEnvelope(signer(1), { upkeeping, receiverId: 0 }, ack(), { nowMs: now });
    const seen = new MemorySeenSet();
    expect(await code(openEnvelope(env, group, at0(new ReplayGuard(seen), now)))).toBe('accepted');
    expect(
      await code(
        openEnvelope(env, group, at0(new ReplayGuard(seen), now + ENVELOPE_TTL_MS + CLOCK_SKEW_MS + 1)),
      ),
    ).toBe('PEER_EXPIRED');
  });

  it('rejects forged, out-of-group, unknown-sender, re-addressed and malformed envelopes', async () => {
    const guard = new ReplayGuard();
    const outsider = privateKeyToAccount(generatePrivateKey());
    const to0 = { upkeeping, receiverId: 0 };
    // An outsider claiming to be keeper 2.
    const forged = await sealEnvelope({ keeperId: 2, account: outsider }, to0, ack());
    expect(await code(openEnvelope(forged, group, at0(guard)))).toBe('PEER_BAD_SIGNATURE');
    // A member's signature with a payload swapped afterwards.
    const real = await sealEnvelope(signer(1), to0, ack());
    const tampered = { ...real, payload: keeperV1.PeerMessage.encode(ack()).finish() };
    expect(await code(openEnvelope(tampered, group, at0(guard)))).toBe('PEER_BAD_SIGNATURE');
    // Keeper 1's envelope for keeper 2, re-addressed to keeper 0, or given a later expiry: the signature breaks.
    const for2 = await sealEnvelope(signer(1), { upkeeping, receiverId: 2 }, ack());
    expect(await code(openEnvelope({ ...for2, receiverId: 0 }, group, at0(guard)))).toBe(
      'PEER_BAD_SIGNATURE',
    );
    expect(await code(openEnvelope({ ...real, expiresAtMs: real.expiresAtMs + 1n }, group, at0(guard)))).toBe(
      'PEER_BAD_SIGNATURE',
    );
    const otherGroup = await sealEnvelope(
      signer(1),
      { upkeeping: '0x00000000000000000000000000000000000000bb', receiverId: 0 },
      ack(),
    );
    expect(await code(openEnvelope(otherGroup, group, at0(guard)))).toBe('PEER_WRONG_GROUP');
    const stranger = await sealEnvelope({ keeperId: 9, account: outsider }, to0, ack());
    expect(await code(openEnvelope(stranger, group, at0(guard)))).toBe('PEER_UNKNOWN_SENDER');
    expect(await code(openEnvelope(undefined, group, at0(guard)))).toBe('PEER_MALFORMED');
    expect(await code(openEnvelope({ ...real, signature: new Uint8Array(3) }, group, at0(guard)))).toBe(
      'PEER_MALFORMED',
    );
    // Re-sign garbage properly so only the payload is wrong.
    const garbage = await sealEnvelope(signer(3), to0, ack());
    const resigned = { ...garbage, payload: new Uint8Array([0xff, 0xff, 0xff]) };
    const sig = await accounts[3]!.signMessage({ message: { raw: envelopeDigest(resigned) } });
    expect(await code(openEnvelope({ ...resigned, signature: hexToBytes(sig) }, group, at0(guard)))).toBe(
      'PEER_MALFORMED',
    );
  });

  it('accepts concurrent sequences in any order, each once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.bigInt({ min: 1n, max: 50n }), { maxLength: 60 }), async (seqs) => {
        const guard = new ReplayGuard();
        const until = BigInt(Date.now() + 60_000);
        const seen = new Set<bigint>();
        for (const s of seqs) {
          const first = !seen.has(s);
          seen.add(s);
          const got = await guard.check(upkeeping, 1, s, until).then(
            () => 'ok',
            (e: PeerError) => e.code,
          );
          expect(got).toBe(first ? 'ok' : 'PEER_REPLAY');
        }
        // Another sender has its own sequences.
        await guard.check(upkeeping, 2, seqs[0] ?? 1n, until);
      }),
      { numRuns: 100 },
    );
  });

  it('the in-memory seen set forgets what expired, so it stays bounded by the validity window', async () => {
    let now = 1_000_000;
    const seen = new MemorySeenSet(() => now);
    for (let i = 0; i < 1_000; i++) expect(await seen.claim(`k${i}`, BigInt(now + 5_000))).toBe(true);
    expect(await seen.claim('k1', BigInt(now + 5_000))).toBe(false);
    now += 10_000;
    expect(await seen.claim('fresh', BigInt(now + 5_000))).toBe(true);
    expect(seen.size).toBe(1);
  });

  it('issues strictly increasing sequence numbers', () => {
    const c = new SequenceClock();
    let prev = 0n;
    for (let i = 0; i < 10_000; i++) {
      const n = c.next();
      expect(n > prev).toBe(true);
      prev = n;
    }
  });
});

describe('envelopeDigest', () => {
  it('is keccak256("WhitePay/peer/v3" ‖ upkeeping ‖ uint32 sender ‖ uint32 receiver ‖ uint64 expiry ‖ sha256(payload)) and covers every byte', () => {
    const up = hexToBytes(upkeeping);
    const payload = new Uint8Array(300_000).map((_, i) => (i * 7) & 255);
    const h = {
      upkeeping: up,
      senderId: 0x01020304,
      receiverId: 0x05060708,
      expiresAtMs: 0x1122334455n,
      payload,
    };
    expect(envelopeDigest(h)).toBe(
      keccak256(
        concat([
          stringToBytes('WhitePay/peer/v3'),
          up,
          new Uint8Array([1, 2, 3, 4]),
          new Uint8Array([5, 6, 7, 8]),
          new Uint8Array([0, 0, 0, 0x11, 0x22, 0x33, 0x44, 0x55]),
          sha256(payload, 'bytes'),
        ]),
      ),
    );
    const changed = payload.slice();
    changed[299_999]! ^= 1;
    expect(envelopeDigest({ ...h, payload: changed })).not.toBe(envelopeDigest(h));
    expect(envelopeDigest({ ...h, senderId: 0x01020305 })).not.toBe(envelopeDigest(h));
    expect(envelopeDigest({ ...h, receiverId: 0x05060709 })).not.toBe(envelopeDigest(h));
    expect(envelopeDigest({ ...h, expiresAtMs: 0x1122334456n })).not.toBe(envelopeDigest(h));
  });
});
