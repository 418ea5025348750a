/**
 * The backend of this process, chosen once when the package is loaded:
 * `blst` where its prebuilt binary loads, else `noble`.
 * `WHITEPAY_BLS_BACKEND=noble` forces the JavaScript reference,
 * `WHITEPAY_BLS_BACKEND=blst` makes a missing binary an error at load
 * instead of a fallback. (The one environment variable a package reads: the
 * choice is a property of the process, needed before any service config is
 * parsed, and every service and tool loads this package.)
 */
import { loadBlstBackend } from './blst.js';
import { nobleBackend } from './noble.js';
import type { BlsBackend, BlsBackendName } from './types.js';

export interface BlsBackendInfo {
  /** The backend every call of this process uses. */
  readonly backend: BlsBackendName;
  /** Why it is not `blst`: forced by the environment, or the load error. */
  readonly reason?: string;
}

function choose(requested: string | undefined): { backend: BlsBackend; info: BlsBackendInfo } {
  if (requested === 'noble') {
    return { backend: nobleBackend, info: { backend: 'noble', reason: 'WHITEPAY_BLS_BACKEND=noble' } };
  }
  if (requested !== undefined && requested !== '' && requested !== 'blst' && requested !== 'auto') {
    throw new Error(`WHITEPAY_BLS_BACKEND must be blst, noble or auto, got ${JSON.stringify(requested)}`);
  }
  const blst = loadBlstBackend();
  if (!(blst instanceof Error)) return { backend: blst, info: { backend: 'blst' } };
  if (requested === 'blst') {
    throw new Error(`WHITEPAY_BLS_BACKEND=blst but @chainsafe/blst does not load: ${blst.message}`, {
      cause: blst,
    });
  }
  return { backend: nobleBackend, info: { backend: 'noble', reason: `@chainsafe/blst: ${blst.message}` } };
}

const chosen = choose(process.env.WHITEPAY_BLS_BACKEND);

/** The backend chosen at load. */
export const activeBackend: BlsBackend = chosen.backend;

/** Which backend this process uses (`blst` or `noble`) and, for noble, why. */
export function blsBackendInfo(): BlsBackendInfo {
  return chosen.info;
}

/** Which backend this process uses: `blst` (native) or `noble` (pure JavaScript). */
export function blsBackend(): BlsBackendName {
  return chosen.info.backend;
}
