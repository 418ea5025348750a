import { hash } from 'node:crypto';
import { recoverSigner } from '@whitepay/ecdsa';
import { keeperV1 } from '@whitepay/proto';
import {
  type Address,
  bytesToHex,
  concat,
  getAddress,
  type Hex,
  hexToBytes,
  isAddress,
  keccak256,
  type LocalAccount,
  numberToBytes,
  stringToBytes,
} from 'viem';
import { PeerError } from './errors.js';

const DOMAIN = stringToBytes('WhitePay/peer/v3');

/** How long a sealed envelope is valid by default (ms): a round step or a reply is opened within seconds. */
export const ENVELOPE_TTL_MS = 30_000;
/** The longest validity a receiver accepts (ms): an expiry further ahead is refused, so the seen set stays bounded. */
export const ENVELOPE_MAX_TTL_MS = 120_000;
/** Clock difference between keepers a receiver tolerates (ms), on both sides of the expiry. */
export const CLOCK_SKEW_MS = 10_000;

/** What the signature of an envelope covers, besides the domain. */
export interface EnvelopeHeader {
  upkeeping: Uint8Array;
  senderId: number;
  receiverId: number;
  /** Unix ms after which the envelope is void. */
  expiresAtMs: bigint;
  payload: Uint8Array;
}

/**
 * The digest a keeper signs (docs/encoding.md):
 * `keccak256("WhitePay/peer/v3" ‖ upkeeping ‖ uint32 senderId ‖ uint32 receiverId ‖ uint64 expiresAtMs ‖ sha256(payload))`.
 * Naming the receiver and an expiry binds an envelope to one keeper and a short time: another keeper
 * refuses it, and the receiver need remember what it accepted only until it expires. The payload
 * (a PushRecords body is hundreds of records with their proofs, megabytes) goes through Node's
 * native SHA-256; keccak in JS over it cost a coordinator a third of its CPU at 1,000 providers.
 */
export function envelopeDigest(h: EnvelopeHeader): Hex {
  return keccak256(
    concat([
      DOMAIN,
      h.upkeeping,
      numberToBytes(h.senderId, { size: 4 }),
      numberToBytes(h.receiverId, { size: 4 }),
      numberToBytes(h.expiresAtMs, { size: 8 }),
      hash('sha256', h.payload, 'buffer'),
    ]),
  );
}

/** The members of one keeper group: keeper id → account address. */
export interface Group {
  upkeeping: Address;
  members: ReadonlyMap<number, Address>;
}

export interface Signer {
  keeperId: number;
  account: LocalAccount;
}

/**
 * Monotonic sequence numbers that survive a restart without storage:
 * microseconds since the epoch, bumped past the last one issued.
 */
export class SequenceClock {
  private last = 0n;
  next(): bigint {
    const now = BigInt(Date.now()) * 1000n;
    this.last = now > this.last ? now : this.last + 1n;
    return this.last;
  }
}

/** Where a sealed envelope goes: the group and the one keeper that may open it. */
export interface Recipient {
  upkeeping: Address;
  receiverId: number;
}

export async function sealEnvelope(
  signer: Signer,
  to: Recipient,
  message: keeperV1.PeerMessage,
  opts: { ttlMs?: number; nowMs?: number } = {},
): Promise<keeperV1.SignedEnvelope> {
  const payload = keeperV1.PeerMessage.encode(message).finish();
  const header: EnvelopeHeader = {
    upkeeping: hexToBytes(to.upkeeping),
    senderId: signer.keeperId,
    receiverId: to.receiverId,
    expiresAtMs: BigInt((opts.nowMs ?? Date.now()) + (opts.ttlMs ?? ENVELOPE_TTL_MS)),
    payload,
  };
  const signature = await signer.account.signMessage({ message: { raw: envelopeDigest(header) } });
  return { ...header, signature: hexToBytes(signature) };
}

export interface Opened {
  senderId: number;
  sender: Address;
  message: keeperV1.PeerMessage;
}

/** Who opens an envelope, and how it remembers what it accepted. */
export interface OpenOptions {
  /** This keeper's id: the envelope must name it as receiver and must not come from it. */
  self: number;
  replay: ReplayGuard;
  /** The clock (Unix ms); tests pass their own. */
  nowMs?: number;
}

/**
 * Checks an envelope against the group and a replay guard, in this order:
 * shape, group, receiver, sender (a member, not this keeper), expiry,
 * signature, payload, replay. Every failure is a PeerError.
 */
export async function openEnvelope(
  env: keeperV1.SignedEnvelope | undefined,
  group: Group,
  o: OpenOptions,
): Promise<Opened> {
  if (!env) throw new PeerError('PEER_MALFORMED', 'missing envelope');
  if (env.upkeeping.length !== 20) throw new PeerError('PEER_MALFORMED', 'upkeeping must be 20 bytes');
  if (env.signature.length !== 65) throw new PeerError('PEER_MALFORMED', 'signature must be 65 bytes');
  const upkeeping = bytesToHex(env.upkeeping);
  if (!isAddress(upkeeping) || getAddress(upkeeping) !== getAddress(group.upkeeping)) {
    throw new PeerError('PEER_WRONG_GROUP', `message for group ${upkeeping}, this is ${group.upkeeping}`);
  }
  if (env.receiverId !== o.self)
    throw new PeerError(
      'PEER_WRONG_RECEIVER',
      `message for keeper ${env.receiverId}, this is keeper ${o.self}`,
      {
        receiverId: env.receiverId,
      },
    );
  if (env.senderId === o.self)
    throw new PeerError('PEER_FROM_SELF', `message claims to come from this keeper (${o.self})`);
  const expected = group.members.get(env.senderId);
  if (!expected) throw new PeerError('PEER_UNKNOWN_SENDER', `keeper ${env.senderId} is not a member`);
  const now = BigInt(o.nowMs ?? Date.now());
  const skew = BigInt(CLOCK_SKEW_MS);
  if (env.expiresAtMs + skew < now || env.expiresAtMs > now + BigInt(ENVELOPE_MAX_TTL_MS) + skew)
    throw new PeerError(
      'PEER_EXPIRED',
      env.expiresAtMs + skew < now
        ? `message expired at ${env.expiresAtMs} (now ${now})`
        : `message valid until ${env.expiresAtMs}, beyond the ${ENVELOPE_MAX_TTL_MS} ms a receiver accepts`,
      { senderId: env.senderId, expiresAtMs: env.expiresAtMs.toString(), nowMs: now.toString() },
    );
  let recovered: Address;
  try {
    recovered = recoverSigner(envelopeDigest(env), env.signature);
  } catch {
    throw new PeerError('PEER_BAD_SIGNATURE', 'signature does not recover');
  }
  if (getAddress(recovered) !== getAddress(expected)) {
    throw new PeerError(
      'PEER_BAD_SIGNATURE',
      `signed by ${recovered}, keeper ${env.senderId} is ${expected}`,
    );
  }
  let message: keeperV1.PeerMessage;
  try {
    message = keeperV1.PeerMessage.decode(env.payload);
  } catch (err) {
    throw new PeerError('PEER_MALFORMED', `payload does not decode: ${(err as Error).message}`);
  }
  if (!message.body) throw new PeerError('PEER_MALFORMED', 'empty message body');
  await o.replay.check(group.upkeeping, env.senderId, message.sequence, env.expiresAtMs + skew);
  return { senderId: env.senderId, sender: expected, message };
}

/**
 * Where a receiver remembers the envelopes it accepted, each until it expires:
 * `claim` answers true the first time a key is claimed and false after, until
 * `untilMs`. In memory for one process; a shared store (Redis, in the
 * coordinator) makes the refusal survive restarts and hold across replicas.
 */
export interface SeenSet {
  claim(key: string, untilMs: bigint): Promise<boolean>;
}

/** A SeenSet in this process's memory, bounded by the envelopes' expiry (expired keys are swept). */
export class MemorySeenSet implements SeenSet {
  private readonly until = new Map<string, bigint>();
  private sweptAt = 0;
  constructor(private readonly now: () => number = Date.now) {}

  async claim(key: string, untilMs: bigint): Promise<boolean> {
    const now = this.now();
    if (now - this.sweptAt > 1_000) {
      this.sweptAt = now;
      for (const [k, u] of this.until) if (u < BigInt(now)) this.until.delete(k);
    }
    const held = this.until.get(key);
    if (held !== undefined && held >= BigInt(now)) return false;
    this.until.set(key, untilMs);
    return true;
  }

  get size(): number {
    return this.until.size;
  }
}

/**
 * Drops replayed messages: a (group, sender, sequence) is accepted once while
 * its envelope is valid; after that the envelope is refused as expired, so the
 * seen set need not hold it. Concurrent requests from one sender may arrive in
 * any order.
 */
export class ReplayGuard {
  constructor(private readonly seen: SeenSet = new MemorySeenSet()) {}

  async check(upkeeping: Address, senderId: number, sequence: bigint, untilMs: bigint): Promise<void> {
    const key = `${upkeeping.toLowerCase()}:${senderId}:${sequence}`;
    if (!(await this.seen.claim(key, untilMs)))
      throw new PeerError('PEER_REPLAY', `sequence ${sequence} from keeper ${senderId} was already used`, {
        senderId,
        sequence: sequence.toString(),
      });
  }
}
