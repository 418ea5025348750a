import { stringToBytes } from 'viem';
import { CoordinatorError } from './errors.js';
import type { PaymentSigner } from './round/driver.js';
import type { StSource } from './st.js';

/**
 * TEST-ONLY fault injection (the cross-keeper suite and the local network):
 * a keeper that lies about its st, signs garbage, or computes its st late (an
 * overloaded keeper). None of it is in the round driver: the faults are
 * wrappers around the st source and the BLS signer, which `app.ts` applies
 * only when `CONSENSUS_COORDINATOR_TEST_FAULTS=on` (default off; the admin
 * route `PUT /v1/admin/fault` exists only then).
 */
export type Fault =
  | { readonly kind: 'none' }
  | { readonly kind: 'lie-st'; readonly num: bigint; readonly den: bigint }
  | { readonly kind: 'garbage-sig' }
  | { readonly kind: 'slow'; readonly ms: number };

/** The longest `slow:<ms>` accepted. */
export const SLOW_MAX_MS = 600_000;

/** The one grammar of a fault value (config and admin route): `none` | `garbage-sig` | `lie-st:<decimal factor>` (up to 6 decimals) | `slow:<ms>` (ms ≤ 600000). */
export const FAULT_GRAMMAR =
  'none, garbage-sig, lie-st:<factor> (up to 6 decimals) or slow:<ms> (at most 600000)';

/** Parses a fault value ({@link FAULT_GRAMMAR}). @throws CoordinatorError `COORD_INVALID_ARGUMENT` on anything else. */
export function parseFault(text: string): Fault {
  if (text === 'none') return { kind: 'none' };
  if (text === 'garbage-sig') return { kind: 'garbage-sig' };
  const slow = /^slow:(\d{1,6})$/.exec(text);
  if (slow && Number(slow[1]) <= SLOW_MAX_MS) return { kind: 'slow', ms: Number(slow[1]) };
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
