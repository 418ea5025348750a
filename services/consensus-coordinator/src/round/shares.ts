import { BlsError, verify, verifyShares } from '@whitepay/bls';
import { type Hex, hexToBytes } from 'viem';

/**
 * The leader's check of its followers' approval shares, in batches.
 *
 * The reducer (core's `leaderReducer`) takes one
 * answer at a time and asks `verifySignature` about each approval. Answers to
 * a proposal arrive together, so before an approval is fed in, the leader
 * hands it and every approval still queued behind it to `prepare`: one
 * `verifyShares` call (one blinded check of all of them; per-share checks
 * only when it fails, so a bad share is still named and blocks nobody). The
 * reducer's `verifySignature` then reads the verdict (`verdict`), falling
 * back to a single `verify` for a share that was not prepared. The reducer
 * sees exactly the answers and verdicts it saw before, in the same order.
 *
 * Verdicts are kept for one message (the current proposal's) at a time.
 */
export interface ShareVerifier {
  /** Verifies, as one batch, the shares over `message` that have no verdict yet. */
  prepare(message: Hex, shares: readonly { from: number; signature: Hex }[]): Promise<void>;
  /** Whether `signature` is `from`'s valid share over `message` (false for a malformed one). */
  verdict(from: number, message: Hex, signature: Hex): boolean;
}

const HEX = /^0x(?:[0-9a-fA-F]{2})+$/;

export function shareVerifier(publicKeyOf: (member: number) => Uint8Array | undefined): ShareVerifier {
  let current: { message: Hex; verdicts: Map<string, boolean> } | null = null;
  const key = (from: number, signature: Hex) => `${from}:${signature.toLowerCase()}`;
  const of = (message: Hex) => {
    if (current?.message !== message) current = { message, verdicts: new Map() };
    return current.verdicts;
  };
  return {
    async prepare(message, shares) {
      const verdicts = of(message);
      const todo = new Map<string, { from: number; publicKey: Uint8Array; signature: Uint8Array }>();
      for (const s of shares) {
        const k = key(s.from, s.signature);
        const publicKey = publicKeyOf(s.from);
        if (verdicts.has(k) || todo.has(k) || !publicKey || !HEX.test(s.signature)) continue;
        todo.set(k, { from: s.from, publicKey, signature: hexToBytes(s.signature) });
      }
      if (todo.size === 0) return;
      const keys = [...todo.keys()];
      let result: Awaited<ReturnType<typeof verifyShares>>;
      try {
        result = await verifyShares(hexToBytes(message), [...todo.values()]);
      } catch {
        return; // BLS_INTERNAL: no verdicts, `verdict` checks each share alone (a throw there is a bad share)
      }
      for (const i of result.valid) verdicts.set(keys[i]!, true);
      for (const i of result.invalid) verdicts.set(keys[i]!, false);
    },
    verdict(from, message, signature) {
      const publicKey = publicKeyOf(from);
      if (!publicKey) return false;
      const known = of(message).get(key(from, signature));
      if (known !== undefined) return known;
      try {
        return verify(publicKey, hexToBytes(message), hexToBytes(signature));
      } catch (err) {
        if (err instanceof BlsError) return false; // not a point: a bad share
        throw err;
      }
    },
  };
}

/** What a reveal event of either reducer looks like, as far as its approval share goes. */
interface RevealEvent {
  readonly type: 'reveal';
  readonly from: number;
  readonly msg: {
    readonly attempt: number;
    readonly proposal: number;
    readonly approve: boolean;
    readonly signature?: Hex;
  };
}

/** The approval shares among `events` for `attempt`/`proposal` (others the reducer rejects unverified). */
export function approvalShares(
  events: readonly { readonly type: string }[],
  attempt: number,
  proposal: number,
): { from: number; signature: Hex }[] {
  const out: { from: number; signature: Hex }[] = [];
  for (const e of events) {
    if (e.type !== 'reveal') continue;
    const { from, msg } = e as RevealEvent;
    if (msg?.approve !== true || msg.attempt !== attempt || msg.proposal !== proposal) continue;
    if (typeof msg.signature === 'string') out.push({ from, signature: msg.signature });
  }
  return out;
}
