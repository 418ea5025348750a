import type { IdleDecision } from '@whitepay/core';
import { stringToBytes } from 'viem';
import { CoordinatorError } from './errors.js';
import type { PaymentSigner } from './round/driver.js';
import type { StSource } from './st.js';

/**
 * TEST-ONLY fault injection (the cross-keeper suite and the local network):
 * a keeper that lies about its st, signs garbage, computes its st late (an
 * overloaded keeper), vouches for a keeper whose records it does not hold
 * (`vouch-lie:<id>`), or as a leader counts an active keeper idle
 * (`idle-mark:<id>`). None of it is in the round driver: the faults are
 * wrappers around the st source, the BLS signer and the leader's idle
 * decision, which `app.ts` applies
 * only when `CONSENSUS_COORDINATOR_TEST_FAULTS=on` (default off; the admin
 * route `PUT /v1/admin/fault` exists only then).
 */
export type Fault =
  | { readonly kind: 'none' }
  | { readonly kind: 'lie-st'; readonly num: bigint; readonly den: bigint }
  | { readonly kind: 'garbage-sig' }
  | { readonly kind: 'slow'; readonly ms: number }
  | { readonly kind: 'vouch-lie'; readonly keeperId: number }
  | { readonly kind: 'idle-mark'; readonly keeperId: number };

/** The longest `slow:<ms>` accepted. */
export const SLOW_MAX_MS = 600_000;

/**
 * The one grammar of a fault value (config and admin route): `none` | `garbage-sig` |
 * `lie-st:<decimal factor>` (up to 6 decimals) | `slow:<ms>` (ms ≤ 600000) | `vouch-lie:<keeper id>` |
 * `idle-mark:<keeper id>`.
 */
export const FAULT_GRAMMAR =
  'none, garbage-sig, lie-st:<factor> (up to 6 decimals), slow:<ms> (at most 600000), vouch-lie:<keeper id> or idle-mark:<keeper id>';

/** Parses a fault value ({@link FAULT_GRAMMAR}). @throws CoordinatorError `COORD_INVALID_ARGUMENT` on anything else. */
export function parseFault(text: string): Fault {
  if (text === 'none') return { kind: 'none' };
  if (text === 'garbage-sig') return { kind: 'garbage-sig' };
  const slow = /^slow:(\d{1,6})$/.exec(text);
  if (slow && Number(slow[1]) <= SLOW_MAX_MS) return { kind: 'slow', ms: Number(slow[1]) };
  const keeper = /^(vouch-lie|idle-mark):(\d{1,10})$/.exec(text);
  if (keeper && Number(keeper[2]) <= 0xffffffff)
    return { kind: keeper[1] as 'vouch-lie' | 'idle-mark', keeperId: Number(keeper[2]) };
  const m = /^lie-st:(\d+)(?:\.(\d{1,6}))?$/.exec(text);
  if (m) {
    const frac = m[2] ?? '';
    return { kind: 'lie-st', num: BigInt(`${m[1]}${frac}`), den: 10n ** BigInt(frac.length) };
  }
  throw new CoordinatorError('COORD_INVALID_ARGUMENT', `unknown fault "${text}": expected ${FAULT_GRAMMAR}`);
}

/** Whether `text` is a fault value (what the config schema checks at boot). */
export function isFault(text: string): boolean {
  try {
    parseFault(text);
    return true;
  } catch {
    return false;
  }
}

export function formatFault(f: Fault): string {
  if (f.kind === 'slow') return `slow:${f.ms}`;
  if (f.kind === 'vouch-lie' || f.kind === 'idle-mark') return `${f.kind}:${f.keeperId}`;
  if (f.kind !== 'lie-st') return f.kind;
  const digits = String(f.den).length - 1;
  const whole = f.num / f.den;
  const frac = f.num % f.den;
  return digits === 0 ? `lie-st:${whole}` : `lie-st:${whole}.${String(frac).padStart(digits, '0')}`;
}

/**
 * The st source under the current fault: `lie-st` scales every value it
 * answers; with `delays`, `slow:<ms>` waits that long before answering (the
 * member's source: it commits late, as an overloaded keeper; the leader's own
 * value is given without the delay); other faults pass through.
 */
export function faultySt(st: StSource, fault: () => Fault, o: { delays: boolean }): StSource {
  const lie = (f: Fault, v: bigint) => (f.kind === 'lie-st' ? (v * f.num) / f.den : v);
  const delay = async (f: Fault) => {
    if (f.kind === 'slow' && f.ms > 0) await new Promise((r) => setTimeout(r, f.ms));
  };
  return {
    async computeStBatch(q) {
      const f = fault();
      if (o.delays) await delay(f);
      return (await st.computeStBatch(q)).map((v) => lie(f, v));
    },
    async listVouches(q) {
      const f = fault();
      const refs = await st.listVouches(q);
      if (f.kind !== 'vouch-lie') return refs;
      // Claims a record of the keeper at te - 1 in every entry, held or not.
      return refs.map((list, i) => [
        ...list.filter((r) => r.keeperId !== f.keeperId),
        { keeperId: f.keeperId, block: q.entries[i]!.te - 1n },
      ]);
    },
    ready: () => st.ready(),
    close: () => st.close(),
  };
}

/** The signer under the current fault: `garbage-sig` signs other bytes (a valid G2 point that fails verification). */
export function faultySigner(signer: PaymentSigner, fault: () => Fault): PaymentSigner {
  return {
    sign: (message) => signer.sign(fault().kind === 'garbage-sig' ? stringToBytes('garbage') : message),
  };
}

/**
 * The leader's idle decision under the current fault: `idle-mark:<id>` counts that keeper idle in every
 * entry whatever vouches for it (its reference dropped); other faults pass the decision through.
 */
export function faultyIdle(fault: () => Fault): (d: readonly IdleDecision[]) => IdleDecision[] {
  return (decisions) => {
    const f = fault();
    if (f.kind !== 'idle-mark') return [...decisions];
    return decisions.map((d) => ({
      idle: d.idle.includes(f.keeperId) ? d.idle : [...d.idle, f.keeperId],
      active: d.active.filter((r) => r.keeperId !== f.keeperId),
    }));
  };
}
