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

const DOMAIN = stringToBytes('WhitePay/peer/v2');

/**
 * The digest a keeper signs (docs/encoding.md):
 * `keccak256("WhitePay/peer/v2" ‖ upkeeping ‖ uint32 senderId ‖ sha256(payload))`. The payload
 * (a PushRecords body is hundreds of records with their proofs, megabytes) goes through Node's
 * native SHA-256; keccak in JS over it cost a coordinator a third of its CPU at 1,000 providers
 * (v1 hashed the payload itself).
 */
export function envelopeDigest(upkeeping: Uint8Array, senderId: number, payload: Uint8Array): Hex {
  return keccak256(
    concat([DOMAIN, upkeeping, numberToBytes(senderId, { size: 4 }), hash('sha256', payload, 'buffer')]),
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

export async function sealEnvelope(
  signer: Signer,
  upkeeping: Address,
  message: keeperV1.PeerMessage,
): Promise<keeperV1.SignedEnvelope> {
  const payload = keeperV1.PeerMessage.encode(message).finish();
  const up = hexToBytes(upkeeping);
  const digest = envelopeDigest(up, signer.keeperId, payload);
  const signature = await signer.account.signMessage({ message: { raw: digest } });
  return { senderId: signer.keeperId, upkeeping: up, payload, signature: hexToBytes(signature) };
}

export interface Opened {
  senderId: number;
  sender: Address;
  message: keeperV1.PeerMessage;
}

/**
 * Checks an envelope against the group and a replay guard, in this order:
 * shape, group, membership, signature, sequence. Every failure is a PeerError.
 */
export async function openEnvelope(
  env: keeperV1.SignedEnvelope | undefined,
  group: Group,
  replay: ReplayGuard,
): Promise<Opened> {
  if (!env) throw new PeerError('PEER_MALFORMED', 'missing envelope');
  if (env.upkeeping.length !== 20) throw new PeerError('PEER_MALFORMED', 'upkeeping must be 20 bytes');
  if (env.signature.length !== 65) throw new PeerError('PEER_MALFORMED', 'signature must be 65 bytes');
  const upkeeping = bytesToHex(env.upkeeping);
  if (!isAddress(upkeeping) || getAddress(upkeeping) !== getAddress(group.upkeeping)) {
    throw new PeerError('PEER_WRONG_GROUP', `message for group ${upkeeping}, this is ${group.upkeeping}`);
  }
  const expected = group.members.get(env.senderId);
  if (!expected) throw new PeerError('PEER_UNKNOWN_SENDER', `keeper ${env.senderId} is not a member`);
  let recovered: Address;
  try {
    recovered = recoverSigner(envelopeDigest(env.upkeeping, env.senderId, env.payload), env.signature);
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
  replay.check(group.upkeeping, env.senderId, message.sequence);
  return { senderId: env.senderId, sender: expected, message };
}

/**
 * Drops replayed messages: per (group, sender), a sequence must be above the
 * oldest of the last `window` accepted ones and not seen among them. The
 * window lets concurrent requests from one sender arrive out of order.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, { floor: bigint; recent: Set<bigint> }>();
  constructor(private readonly window = 1024) {}

  check(upkeeping: Address, senderId: number, sequence: bigint): void {
    const key = `${upkeeping.toLowerCase()}:${senderId}`;
    let s = this.seen.get(key);
    if (!s) {
      s = { floor: -1n, recent: new Set() };
      this.seen.set(key, s);
    }
    if (sequence <= s.floor || s.recent.has(sequence)) {
      throw new PeerError('PEER_REPLAY', `sequence ${sequence} from keeper ${senderId} was already used`, {
        senderId,
        sequence: sequence.toString(),
      });
    }
    s.recent.add(sequence);
    if (s.recent.size > this.window) {
      const sorted = [...s.recent].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const drop = sorted.slice(0, s.recent.size - this.window);
      for (const d of drop) s.recent.delete(d);
      s.floor = drop[drop.length - 1] ?? s.floor;
    }
  }
}
