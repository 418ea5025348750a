import { keeperV1 } from '@whitepay/proto';
import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { type Group, openEnvelope, PeerError, ReplayGuard, SequenceClock, sealEnvelope } from './index.js';

const upkeeping: Address = '0x00000000000000000000000000000000000000aa';
const accounts = [0, 1, 2, 3].map(() => privateKeyToAccount(generatePrivateKey()));
const group: Group = { upkeeping, members: new Map(accounts.map((a, i) => [i, a.address])) };
const clock = new SequenceClock();
const ack = (): keeperV1.PeerMessage => ({
  sequence: clock.next(),
  body: { $case: 'ack', value: { ok: true } },
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
    const env = await sealEnvelope({ keeperId: 1, account: accounts[1]! }, upkeeping, ack());
    const opened = await openEnvelope(env, group, guard);
    expect(opened.senderId).toBe(1);
    expect(opened.message.body).toEqual({ $case: 'ack', value: { ok: true } });
    expect(await code(openEnvelope(env, group, guard))).toBe('PEER_REPLAY');
  });

  it('rejects forged, out-of-group, unknown-sender and malformed envelopes', async () => {
    const guard = new ReplayGuard();
    const outsider = privateKeyToAccount(generatePrivateKey());
    // An outsider claiming to be keeper 2.
    const forged = await sealEnvelope({ keeperId: 2, account: outsider }, upkeeping, ack());
    expect(await code(openEnvelope(forged, group, guard))).toBe('PEER_BAD_SIGNATURE');
    // A member's signature with a payload swapped afterwards.
    const real = await sealEnvelope({ keeperId: 0, account: accounts[0]! }, upkeeping, ack());
    const tampered = { ...real, payload: keeperV1.PeerMessage.encode(ack()).finish() };
    expect(await code(openEnvelope(tampered, group, guard))).toBe('PEER_BAD_SIGNATURE');
    const otherGroup = await sealEnvelope(
      { keeperId: 0, account: accounts[0]! },
      '0x00000000000000000000000000000000000000bb',
      ack(),
    );
    expect(await code(openEnvelope(otherGroup, group, guard))).toBe('PEER_WRONG_GROUP');
    const stranger = await sealEnvelope({ keeperId: 9, account: outsider }, upkeeping, ack());
    expect(await code(openEnvelope(stranger, group, guard))).toBe('PEER_UNKNOWN_SENDER');
    expect(await code(openEnvelope(undefined, group, guard))).toBe('PEER_MALFORMED');
    expect(await code(openEnvelope({ ...real, signature: new Uint8Array(3) }, group, guard))).toBe(
      'PEER_MALFORMED',
    );
    const garbage = await sealEnvelope({ keeperId: 3, account: accounts[3]! }, upkeeping, ack());
    const resigned = { ...garbage, payload: new Uint8Array([0xff, 0xff, 0xff]) };
    // Re-sign garbage properly so only the payload is wrong.
    const { envelopeDigest } = await import('./index.js');
    const sig = await accounts[3]!.signMessage({
      message: { raw: envelopeDigest(resigned.upkeeping, 3, resigned.payload) },
    });
    const { hexToBytes } = await import('viem');
    expect(await code(openEnvelope({ ...resigned, signature: hexToBytes(sig) }, group, guard))).toBe(
      'PEER_MALFORMED',
    );
  });

  it('accepts out-of-order sequences inside the window and rejects below it', () => {
    const guard = new ReplayGuard(4);
    for (const s of [10n, 12n, 11n, 14n, 13n]) guard.check(upkeeping, 0, s);
    expect(() => guard.check(upkeeping, 0, 10n)).toThrow(PeerError);
    expect(() => guard.check(upkeeping, 0, 9n)).toThrow(PeerError);
    guard.check(upkeeping, 0, 15n);
    guard.check(upkeeping, 1, 10n); // another sender has its own window
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
  it('is keccak256("WhitePay/peer/v2" ‖ upkeeping ‖ uint32 senderId ‖ sha256(payload)) and covers every byte', async () => {
    const { envelopeDigest } = await import('./index.js');
    const { concat, hexToBytes, keccak256, sha256, stringToBytes } = await import('viem');
    const up = hexToBytes(upkeeping);
    const payload = new Uint8Array(300_000).map((_, i) => (i * 7) & 255);
    expect(envelopeDigest(up, 0x01020304, payload)).toBe(
      keccak256(
        concat([
          stringToBytes('WhitePay/peer/v2'),
          up,
          new Uint8Array([1, 2, 3, 4]),
          sha256(payload, 'bytes'),
        ]),
      ),
    );
    const changed = payload.slice();
    changed[299_999]! ^= 1;
    expect(envelopeDigest(up, 0x01020304, changed)).not.toBe(envelopeDigest(up, 0x01020304, payload));
    expect(envelopeDigest(up, 0x01020305, payload)).not.toBe(envelopeDigest(up, 0x01020304, payload));
  });
});
