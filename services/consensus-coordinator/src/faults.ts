import { CoordinatorError } from './errors.js';

/**
 * TEST-ONLY fault injection (the cross-keeper suite and the local network):
 * a keeper that lies about its st, or signs garbage. Production runs `none`.
 */
export type Fault =
  | { readonly kind: 'none' }
  | { readonly kind: 'lie-st'; readonly num: bigint; readonly den: bigint }
  | { readonly kind: 'garbage-sig' };

/** `none` | `garbage-sig` | `lie-st:<decimal factor>` (up to 6 decimals). */
export function parseFault(text: string): Fault {
  if (text === 'none') return { kind: 'none' };
  if (text === 'garbage-sig') return { kind: 'garbage-sig' };
  const m = /^lie-st:(\d+)(?:\.(\d{1,6}))?$/.exec(text);
  if (m) {
    const frac = m[2] ?? '';
    return { kind: 'lie-st', num: BigInt(`${m[1]}${frac}`), den: 10n ** BigInt(frac.length) };
  }
  throw new CoordinatorError('COORD_INVALID_ARGUMENT', `unknown fault "${text}"`);
}

export function formatFault(f: Fault): string {
  if (f.kind !== 'lie-st') return f.kind;
  const digits = String(f.den).length - 1;
  const whole = f.num / f.den;
  const frac = f.num % f.den;
  return digits === 0 ? `lie-st:${whole}` : `lie-st:${whole}.${String(frac).padStart(digits, '0')}`;
}

/** The st this keeper reports under the fault (the truth unless it lies). */
export function applyStFault(f: Fault, st: bigint): bigint {
  return f.kind === 'lie-st' ? (st * f.num) / f.den : st;
}
