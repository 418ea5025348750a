import { type Address, type Hex, keccak256, numberToHex } from 'viem';

/**
 * Abstract round scripts: random event sequences written without any round
 * id, so the same script can drive the single-entry reducer that round.ts
 * used to hold and the list reducer at `k = 1`. A step names what happens
 * (who answers, with which value, whether it matches its commitment) and
 * `playScript` turns it into a concrete event for the state it reaches.
 * The decisions (outputs and the state's phase/attempt/proposal) are
 * normalised so that two reducers' decisions compare as plain JSON. The
 * golden fixture `round-k1.golden.json` holds the old reducer's decisions
 * over many scripts; `round.golden.test.ts` replays it.
 */

export type ScriptStep =
  | { readonly t: 'start'; readonly st: string }
  | {
      readonly t: 'commit';
      /** Index into the script's keeper ids; `-1` names a keeper outside the group. */
      readonly from: number;
      readonly st: string;
      /** 0..255, the nonce is keccak of it. */
      readonly nonce: number;
      readonly wrongTid: boolean;
      readonly attemptDelta: number;
      readonly malformed: boolean;
    }
  | {
      readonly t: 'reveal';
      readonly from: number;
      /** Reveal what was committed this attempt (else `st` with nonce 0: a mismatch or no commitment). */
      readonly honest: boolean;
      readonly st: string;
      readonly approve: boolean;
      readonly sig: 'good' | 'bad' | 'missing';
      readonly wrongTid: boolean;
      readonly attemptDelta: number;
      readonly proposalDelta: number;
      readonly malformed: boolean;
    }
  | {
      readonly t: 'timeout';
      readonly attempt: 'none' | 'current' | 'stale';
      readonly phase: 'none' | 'current' | 'committing' | 'proposing' | 'syncing';
      readonly proposal: 'none' | 'current' | 'stale';
    }
  | { readonly t: 'synced'; readonly st: string };

export interface RoundScript {
  readonly user: Address;
  readonly pid: Address;
  readonly ts: string;
  readonly te: string;
  readonly r: number;
  readonly members: readonly number[];
  /** Index of the leader in `members`. */
  readonly leader: number;
  readonly threshold?: number;
  readonly maxAttempts?: number;
  readonly steps: readonly ScriptStep[];
}

/** One reducer decision, normalised (no round id; values as decimal strings). */
export type Decision =
  | {
      readonly type: 'broadcast';
      readonly kind: 'commit' | 'propose' | 'sync';
      readonly attempt: number;
      readonly proposal?: number;
      readonly st?: string;
      readonly median?: boolean;
    }
  | { readonly type: 'full_sync'; readonly attempt: number }
  | { readonly type: 'submit'; readonly st: string; readonly signers: number[]; readonly signatures: Hex[] }
  | { readonly type: 'failed'; readonly reason: string }
  | { readonly type: 'rejected'; readonly from: number; readonly reason: string };

export interface StepResult {
  readonly decisions: Decision[];
  readonly phase: string;
  readonly attempt: number;
  readonly proposal: number;
  readonly liars: number[];
}

/** What `playScript` needs to know of a reducer (its state stays opaque). */
export interface ScriptAdapter<S> {
  create(script: RoundScript): S;
  /** The round id its messages must carry. */
  id(state: S): Hex;
  phase(state: S): string;
  attempt(state: S): number;
  proposal(state: S): number;
  liars(state: S): number[];
  /** The value of the current proposal (entry 0), or null. */
  proposedSt(state: S): bigint | null;
  commitment(st: bigint, nonce: Hex): Hex;
  start(state: S, st: bigint): { state: S; outputs: unknown[] };
  commit(
    state: S,
    from: number,
    msg: { id: Hex; attempt: number; commitment: Hex | number },
  ): { state: S; outputs: unknown[] };
  reveal(
    state: S,
    from: number,
    msg: {
      id: Hex;
      attempt: number;
      proposal: number;
      st: bigint | string;
      nonce: Hex;
      approve: boolean;
      signature?: Hex;
    },
    verify: (from: number, st: bigint, signature: Hex) => boolean,
  ): { state: S; outputs: unknown[] };
  timeout(
    state: S,
    ev: { attempt?: number; phase?: string; proposal?: number },
  ): { state: S; outputs: unknown[] };
  synced(state: S, st: bigint): { state: S; outputs: unknown[] };
  /** An output in the normalised form. */
  decision(output: unknown): Decision;
}

export const nonceOf = (n: number): Hex => keccak256(numberToHex(n, { size: 32 }));

/** The script's notion of a good signature: a pure function of the signer and the value. */
export const goodSignature = (from: number, st: bigint): Hex =>
  keccak256(`0x${from.toString(16).padStart(8, '0')}${st.toString(16).padStart(64, '0')}`);

const OTHER_ID = 0xdead_beef;

/** Runs a script against a reducer; a step that throws records `{ error: code }` and the script goes on. */
export function playScript<S>(
  a: ScriptAdapter<S>,
  script: RoundScript,
): Array<StepResult | { error: string }> {
  let state: S;
  try {
    state = a.create(script);
  } catch (err) {
    return [{ error: String((err as { code?: unknown }).code ?? (err as Error).message) }];
  }
  const committed = new Map<number, { st: bigint; nonce: Hex; attempt: number }>();
  const verify = (from: number, st: bigint, signature: Hex) => signature === goodSignature(from, st);
  const idOf = (wrong: boolean): Hex => (wrong ? keccak256('0x01') : a.id(state));
  const fromOf = (i: number): number => (i < 0 ? OTHER_ID : script.members[i % script.members.length]!);
  const out: Array<StepResult | { error: string }> = [];
  for (const step of script.steps) {
    let res: { state: S; outputs: unknown[] };
    try {
      switch (step.t) {
        case 'start':
          res = a.start(state, BigInt(step.st));
          break;
        case 'synced':
          res = a.synced(state, BigInt(step.st));
          break;
        case 'commit': {
          const from = fromOf(step.from);
          const nonce = nonceOf(step.nonce);
          const st = BigInt(step.st);
          const attempt = a.attempt(state) + step.attemptDelta;
          res = a.commit(state, from, {
            id: idOf(step.wrongTid),
            attempt,
            commitment: step.malformed ? 7 : a.commitment(st, nonce),
          });
          const accepted = !res.outputs.some((o) => a.decision(o).type === 'rejected');
          if (accepted) committed.set(from, { st, nonce, attempt });
          break;
        }
        case 'reveal': {
          const from = fromOf(step.from);
          const c = committed.get(from);
          const honest = step.honest && c !== undefined && c.attempt === a.attempt(state);
          const st = honest ? c!.st : BigInt(step.st);
          const nonce = honest ? c!.nonce : nonceOf(0);
          const proposedSt = a.proposedSt(state);
          const signature =
            step.sig === 'missing'
              ? undefined
              : step.sig === 'good' && proposedSt !== null
                ? goodSignature(from, proposedSt)
                : goodSignature(from, 1n + (proposedSt ?? 0n));
          res = a.reveal(
            state,
            from,
            {
              id: idOf(step.wrongTid),
              attempt: a.attempt(state) + step.attemptDelta,
              proposal: a.proposal(state) + step.proposalDelta,
              st: step.malformed ? 'x' : st,
              nonce,
              approve: step.approve,
              ...(signature === undefined ? {} : { signature }),
            },
            verify,
          );
          break;
        }
        case 'timeout': {
          const ev: { attempt?: number; phase?: string; proposal?: number } = {};
          if (step.attempt === 'current') ev.attempt = a.attempt(state);
          if (step.attempt === 'stale') ev.attempt = a.attempt(state) - 1;
          if (step.phase === 'current') ev.phase = a.phase(state);
          else if (step.phase !== 'none') ev.phase = step.phase;
          if (step.proposal === 'current') ev.proposal = a.proposal(state);
          if (step.proposal === 'stale') ev.proposal = a.proposal(state) + 1;
          res = a.timeout(state, ev);
          break;
        }
      }
    } catch (err) {
      out.push({ error: String((err as { code?: unknown }).code ?? (err as Error).message) });
      continue;
    }
    state = res.state;
    out.push({
      decisions: res.outputs.map((o) => a.decision(o)),
      phase: a.phase(state),
      attempt: a.attempt(state),
      proposal: a.proposal(state),
      liars: a.liars(state),
    });
  }
  return out;
}
