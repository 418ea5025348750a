import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigError, type Counter, type Logger, WhitePayError } from '@whitepay/base';
import { EcdsaError, recoverSigner, Signer } from '@whitepay/ecdsa';
import { type MsgHdrs, headers as natsHeaders } from 'nats';
import { type Address, bytesToHex, getAddress, type Hex, isAddress } from 'viem';

/**
 * Who may change a keeper's state over its bus (issue 20): every message that
 * does — challenge records (challenger → challenge-store), block headers
 * (chain-submitter → challenger), challenge tasks (challenger → challenger),
 * submit requests (coordinator → chain-submitter) — carries the keeper's bus
 * signature in a NATS header, and its consumer checks it before anything else.
 *
 *   digest    = sha256("WhitePay/bus/v1\n" ‖ subject ‖ "\n" ‖ sha256(payload))
 *   header    `WhitePay-Bus-Sig: 0x<r ‖ s ‖ v>` — secp256k1, EIP-191 over the digest (`@whitepay/ecdsa`)
 *
 * The subject is signed (it holds the namespace, the user and the pid), so a
 * signed message cannot be moved to another keeper, account or boundary. The
 * payload is signed as the consumer reads it, byte for byte. Nothing else is:
 * a replay of a message on its own subject is the same message again, and
 * every consumer is idempotent for those (records by key, blocks and tasks by
 * Nats-Msg-Id and the node's hash, submits by batch id).
 *
 * The key is secp256k1 rather than an HMAC secret: consumers hold only the
 * address (the challenge-store, which signs nothing, cannot forge a submit
 * request), and the keeper's account key, already present in every producer,
 * is the default (`NATS_SIGNING_KEY` names a dedicated one).
 */
export const BUS_DOMAIN = 'WhitePay/bus/v1';
export const BUS_SIG_HEADER = 'WhitePay-Bus-Sig';
/** The HMAC-SHA256 alternative of the data plane (`NATS_MAC_KEY`, below). */
export const BUS_MAC_HEADER = 'WhitePay-Bus-Mac';

export type BusAuthErrorCode =
  /** No `WhitePay-Bus-Sig` header. */
  | 'BUS_MESSAGE_UNSIGNED'
  /** A signature header that is not 65 bytes of hex or recovers no key. */
  | 'BUS_SIGNATURE_INVALID'
  /** A valid signature by another key than this keeper's bus key. */
  | 'BUS_SIGNER_FOREIGN'
  /** A MAC header that is not the MAC of this message under this keeper's MAC key. */
  | 'BUS_MAC_INVALID';

/** A bus message refused by its consumer. */
export class BusAuthError extends WhitePayError {
  override readonly name: string = 'BusAuthError';
  constructor(code: BusAuthErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, {
      kind:
        code === 'BUS_SIGNER_FOREIGN' || code === 'BUS_MAC_INVALID' ? 'permission_denied' : 'unauthenticated',
      details,
    });
  }
}

const sha256 = (b: Uint8Array | string): Buffer => createHash('sha256').update(b).digest();

/**
 * The digest a bus signature covers: `sha256("WhitePay/bus/v1\n" ‖ subject ‖ "\n" ‖ sha256(payload))`
 * (a NATS subject holds no whitespace, so the encoding is unambiguous). SHA-256 (node's, native),
 * not keccak or an ABI encoding: nothing on chain checks it, and viem's keccak is JS — a record of
 * a few KB hashes ~50× faster, which matters at the challenge-store's ingest rate.
 */
export function busDigest(subject: string, payload: Uint8Array): Uint8Array {
  return createHash('sha256').update(`${BUS_DOMAIN}\n${subject}\n`).update(sha256(payload)).digest();
}

/**
 * The MAC of a message under the keeper's MAC key: HMAC-SHA256 over the same
 * bytes the signature's digest covers (`"WhitePay/bus/v1\n" ‖ subject ‖ "\n" ‖ payload`).
 */
export function busMac(key: Uint8Array, subject: string, payload: Uint8Array): Buffer {
  return createHmac('sha256', key).update(`${BUS_DOMAIN}\n${subject}\n`).update(payload).digest();
}

/** Signs bus messages with one key (a producer). */
export interface BusSigner {
  readonly address: Address;
  /** The headers of a message on `subject` (added to `into` when given). */
  headers(subject: string, payload: Uint8Array, into?: MsgHdrs): MsgHdrs;
}

/**
 * A producer's signer: the secp256k1 signature, or, with `macKey`, the
 * HMAC-SHA256 of the keeper's data plane instead (~50× cheaper to make and to
 * check; only the services holding the MAC key can check it, and any of them
 * could forge it, so it is for the challenger ↔ challenge-store hops).
 */
export function busSigner(privateKey: Hex, opts: { macKey?: Hex | undefined } = {}): BusSigner {
  const signer = new Signer(privateKey);
  const mac = opts.macKey ? Buffer.from(opts.macKey.slice(2), 'hex') : undefined;
  return {
    address: signer.address,
    headers(subject, payload, into) {
      const h = into ?? natsHeaders();
      if (mac) h.set(BUS_MAC_HEADER, busMac(mac, subject, payload).toString('hex'));
      else h.set(BUS_SIG_HEADER, bytesToHex(signer.sign(busDigest(subject, payload))));
      return h;
    },
  };
}

/** What a consumer needs of a received message. */
export interface BusMessage {
  subject: string;
  data: Uint8Array;
  headers?: MsgHdrs | undefined;
}

/** Checks bus messages against this keeper's bus address (a consumer). */
export interface BusVerifier {
  readonly signer: Address;
  /**
   * The signer of `m` when it is this keeper's bus key.
   * @throws BusAuthError `BUS_MESSAGE_UNSIGNED`, `BUS_SIGNATURE_INVALID`, `BUS_SIGNER_FOREIGN`.
   */
  verify(m: BusMessage): Address;
  /**
   * `verify`, but a refusal is counted (`whitepay_rejected_messages_total{boundary, reason}`),
   * logged and answered with `false`: the caller then settles the message (term/ack), never
   * redelivers it.
   */
  accept(
    m: BusMessage,
    ctx: { boundary: string; rejected: Counter<'boundary' | 'reason'>; log: Logger },
  ): boolean;
}

/**
 * A consumer's verifier: a signature by `expected`, or, when it has `macKey`,
 * a MAC under it (either proves the message is the keeper's).
 */
export function busVerifier(expected: Address, opts: { macKey?: Hex | undefined } = {}): BusVerifier {
  const signer = getAddress(expected);
  const mac = opts.macKey ? Buffer.from(opts.macKey.slice(2), 'hex') : undefined;
  const verify = (m: BusMessage): Address => {
    const tag = mac ? (m.headers?.get(BUS_MAC_HEADER) ?? '') : '';
    if (mac && tag !== '') {
      const got = /^[0-9a-f]{64}$/.test(tag) ? Buffer.from(tag, 'hex') : Buffer.alloc(0);
      if (got.length !== 32 || !timingSafeEqual(got, busMac(mac, m.subject, m.data)))
        throw new BusAuthError('BUS_MAC_INVALID', `bus MAC on ${m.subject} does not match`, {
          subject: m.subject,
        });
      return signer;
    }
    const sig = m.headers?.get(BUS_SIG_HEADER) ?? '';
    if (sig === '')
      throw new BusAuthError('BUS_MESSAGE_UNSIGNED', `unsigned message on ${m.subject}`, {
        subject: m.subject,
      });
    if (!/^0x[0-9a-fA-F]{130}$/.test(sig))
      throw new BusAuthError('BUS_SIGNATURE_INVALID', `malformed bus signature on ${m.subject}`, {
        subject: m.subject,
      });
    let got: Address;
    try {
      got = recoverSigner(busDigest(m.subject, m.data), Buffer.from(sig.slice(2), 'hex'));
    } catch (err) {
      throw new BusAuthError('BUS_SIGNATURE_INVALID', `bus signature on ${m.subject} does not recover`, {
        subject: m.subject,
        cause: err instanceof EcdsaError ? err.message : String(err),
      });
    }
    if (got !== signer)
      throw new BusAuthError(
        'BUS_SIGNER_FOREIGN',
        `message on ${m.subject} signed by ${got}, not ${signer}`,
        {
          subject: m.subject,
          signer: got,
        },
      );
    return got;
  };
  return {
    signer,
    verify,
    accept(m, ctx) {
      try {
        verify(m);
        return true;
      } catch (err) {
        const e = err as BusAuthError;
        ctx.rejected.inc({ boundary: ctx.boundary, reason: e.code });
        ctx.log.warn({ subject: m.subject, code: e.code, reason: e.message }, 'bus message refused');
        return false;
      }
    },
  };
}

/**
 * A service's bus identity: the signer (when it holds a key) and the verifier.
 * The key is `NATS_SIGNING_KEY` when set, else the service's account key; the
 * expected address is `NATS_SIGNER` when set, else the key's. A service with
 * neither cannot check anything and refuses to start. With `NATS_MAC_KEY` the
 * service MACs what it produces and accepts MACs as well as signatures.
 */
export interface BusIdentity {
  signer: BusSigner | undefined;
  verifier: BusVerifier;
}

export function busIdentityOf(
  config: {
    natsSigningKey?: string | undefined;
    natsSigner?: string | undefined;
    natsMacKey?: string | undefined;
  },
  opts: { accountKey?: Hex | undefined; fallbackSigner?: Address | undefined; prefix: string },
): BusIdentity {
  const v = (name: string) => (opts.prefix ? `${opts.prefix}_${name}` : name);
  const key = (config.natsSigningKey as Hex | undefined) ?? opts.accountKey;
  const macKey = config.natsMacKey as Hex | undefined;
  const signer = key ? busSigner(key, { macKey }) : undefined;
  const named = config.natsSigner ?? opts.fallbackSigner;
  if (named !== undefined && !isAddress(named))
    throw configError(`${v('NATS_SIGNER')}: not an address: ${named}`);
  if (signer && config.natsSigner !== undefined && getAddress(config.natsSigner) !== signer.address)
    throw configError(
      `${v('NATS_SIGNER')} is ${config.natsSigner} but this service's bus key is ${signer.address}: every service of a keeper signs with one bus key`,
    );
  const expected = signer?.address ?? named;
  if (expected === undefined)
    throw configError(
      `${v('NATS_SIGNER')}: unset and no bus key (${v('NATS_SIGNING_KEY')} or the account key): bus messages cannot be checked`,
    );
  return { signer, verifier: busVerifier(expected as Address, { macKey }) };
}

function configError(problem: string): ConfigError {
  return new ConfigError(`invalid configuration: ${problem}`, { problems: [problem] });
}
