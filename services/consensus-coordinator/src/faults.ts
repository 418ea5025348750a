import { CoordinatorError } from './errors.js';

/**
 * TEST-ONLY fault injection (the cross-keeper suite and the local network):
 * a keeper that lies about its st, signs garbage, or answers commit requests
 * late (an overloaded keeper). Production runs `none`.
 */
export type Fault =
  | { readonly kind: 'none' }
  | { readonly kind: 'lie-st'; readonly num: bigint; readonly den: bigint }
  | { readonly kind: 'garbage-sig' }
  | { readonly kind: 'slow'; readonly ms: number };

/** The longest `slow:<ms>` accepted. */
const SLOW_MAX_MS = 600_000;

/** `none` | `garbage-sig` | `lie-st:<decimal factor>` (up to 6 decimals) | `slow:<ms>`. */
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
  throw new CoordinatorError('COORD_INVALID_ARGUMENT', `unknown fault "${text}"`);
}

export function formatFault(f: Fault): string {
  if (f.kind === 'slow') return `slow:${f.ms}`;
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

/** Under `slow:<ms>`, a follower waits that long before it commits (single and batch rounds). */
export async function applyDelayFault(f: Fault): Promise<void> {
  if (f.kind === 'slow' && f.ms > 0) await new Promise((r) => setTimeout(r, f.ms));
}
