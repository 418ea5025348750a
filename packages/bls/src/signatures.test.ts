import { describe, expect, it } from 'vitest';
import {
  aggregatePublicKeys,
  aggregateSignatures,
  BlsError,
  g1Negate,
  provePossession,
  publicKeyOf,
  secretKeyFromSeed,
  sign,
  verify,
  verifyAggregate,
  verifyPossession,
} from './index.js';

const seed = (i: number) => new Uint8Array(32).fill(i + 1);
const keys = Array.from({ length: 7 }, (_, i) => {
  const sk = secretKeyFromSeed(seed(i));
  return { sk, pk: publicKeyOf(sk) };
});
const msg = new TextEncoder().encode('WhitePay/v1 test payment');
const k0 =
  keys[0] ??
  (() => {
    throw new Error('no key');
  })();

describe('sign / verify', () => {
  it('round-trips', () => {
    const sig = sign(k0.sk, msg);
    expect(sig.length).toBe(96);
    expect(verify(k0.pk, msg, sig)).toBe(true);
  });
  it('rejects a tampered message, signature or key', () => {
    const sig = sign(k0.sk, msg);
    const other = Uint8Array.from(msg);
    other[0] = (other[0] ?? 0) ^ 1;
    expect(verify(k0.pk, other, sig)).toBe(false);
    expect(verify(keys[1]?.pk ?? k0.pk, msg, sig)).toBe(false);
    expect(verify(k0.pk, msg, sign(k0.sk, other))).toBe(false);
    const bad = Uint8Array.from(sig);
    bad[95] = (bad[95] ?? 0) ^ 1;
    // a flipped bit yields another valid point, an invalid encoding, or a non-point
    let ok: boolean | BlsError;
    try {
      ok = verify(k0.pk, msg, bad);
    } catch (e) {
      ok = e as BlsError;
    }
    expect(ok === false || ok instanceof BlsError).toBe(true);
  });
});

describe('aggregation (same message)', () => {
  it('verifies the aggregate of all signers', () => {
    const agg = aggregateSignatures(keys.map((k) => sign(k.sk, msg)));
    expect(
      verifyAggregate(
        keys.map((k) => k.pk),
        msg,
        agg,
      ),
    ).toBe(true);
    expect(verify(aggregatePublicKeys(keys.map((k) => k.pk)), msg, agg)).toBe(true);
  });
  it('fails with a missing signer, extra key or other message', () => {
    const agg = aggregateSignatures(keys.slice(1).map((k) => sign(k.sk, msg)));
    expect(
      verifyAggregate(
        keys.map((k) => k.pk),
        msg,
        agg,
      ),
    ).toBe(false);
    expect(
      verifyAggregate(
        keys.slice(1).map((k) => k.pk),
        msg,
        agg,
      ),
    ).toBe(true);
    expect(
      verifyAggregate(
        keys.slice(1).map((k) => k.pk),
        new Uint8Array([1]),
        agg,
      ),
    ).toBe(false);
    expect(verifyAggregate([], msg, agg)).toBe(false);
  });
});

describe('proof of possession', () => {
  it('honest keys pass', () => {
    for (const k of keys) expect(verifyPossession(k.pk, provePossession(k.sk))).toBe(true);
  });
  it('a PoP does not verify as a signature over the key, nor for another key', () => {
    const pop = provePossession(k0.sk);
    expect(verify(k0.pk, k0.pk, pop)).toBe(false);
    expect(verifyPossession(keys[1]?.pk ?? k0.pk, pop)).toBe(false);
  });
  it('rogue-key attack: pk_a - pk_victim forges an aggregate but has no valid PoP', () => {
    const victim = k0;
    const attacker = keys[1] ?? k0;
    // rogue = pk_a - pk_v; then pk_v + rogue = pk_a, and the attacker alone can sign for "both"
    const rogue = aggregatePublicKeys([attacker.pk, g1Negate(victim.pk)]);
    const forged = sign(attacker.sk, msg);
    expect(verifyAggregate([victim.pk, rogue], msg, forged)).toBe(true); // why PoP is required
    // the attacker knows no secret key of `rogue`; the best it can offer is a PoP from its own key
    expect(verifyPossession(rogue, provePossession(attacker.sk))).toBe(false);
    expect(verifyPossession(rogue, provePossession(victim.sk))).toBe(false);
    expect(verifyPossession(attacker.pk, provePossession(attacker.sk))).toBe(true);
  });
  it('keys that cancel out verify nothing', () => {
    const sum = [k0.pk, g1Negate(k0.pk)];
    const inf = new Uint8Array(96);
    inf[0] = 0xc0;
    expect(verifyAggregate(sum, msg, inf)).toBe(false);
  });
});
