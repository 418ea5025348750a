import { readFileSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { TlsError } from '@whitepay/base';

/** The one TLS error type (`TLS_FILE_INVALID`), shared with the NATS, Redis and PostgreSQL clients. */
export { TlsError };

/**
 * Transport security of a gRPC boundary: mutual TLS where both sides present
 * a certificate signed by a CA the other trusts, and the certificate names the
 * keeper it was issued to.
 *
 * A keeper's identity travels in one subject alternative name, a URI
 * `urn:whitepay:keeper:<keeperId>:<account>` where `<account>` is the
 * keeper's registered on-chain account (lower-case hex). The TLS layer checks
 * the chain of trust; the service then binds the identity to what the call
 * claims (the envelope's sender, the on-chain member) with
 * {@link identityOf}. Host names are not what a peer is checked against: a
 * keeper's address (a LoadBalancer, an Ingress, a NodePort) belongs to the
 * operator of another organisation, its identity to the group.
 */
export const KEEPER_URI_PREFIX = 'urn:whitepay:keeper:';

/** The keeper a certificate was issued to. */
export interface KeeperIdentity {
  keeperId: number;
  /** The keeper's registered account, lower-case `0x…`. */
  account: string;
}

/** PEM material of one side of an mTLS connection. */
export interface TlsMaterial {
  /** The CAs whose certificates this side accepts (a bundle: one per organisation, or a group CA). */
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** Where the PEM files are: mounted from Secrets in Kubernetes. */
export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Reads the three PEM files, refusing a missing or unreadable one by name. */
export function readTlsFiles(files: TlsFiles): TlsMaterial {
  const read = (path: string, what: string): Buffer => {
    try {
      const pem = readFileSync(path);
      if (!pem.includes('-----BEGIN ')) throw new Error('not PEM');
      return pem;
    } catch (err) {
      throw new TlsError('TLS_FILE_INVALID', `cannot read the ${what} ${path}: ${(err as Error).message}`, {
        kind: 'failed_precondition',
        details: { path, what },
      });
    }
  };
  return {
    ca: read(files.caFile, 'CA bundle'),
    cert: read(files.certFile, 'certificate'),
    key: read(files.keyFile, 'private key'),
  };
}

/** The keeper URI of an identity. */
export function keeperUri(id: KeeperIdentity): string {
  return `${KEEPER_URI_PREFIX}${id.keeperId}:${id.account.toLowerCase()}`;
}

/** Parses a keeper URI; undefined when it is not one. */
export function parseKeeperUri(uri: string): KeeperIdentity | undefined {
  if (!uri.startsWith(KEEPER_URI_PREFIX)) return undefined;
  const m = /^(\d{1,10}):(0x[0-9a-f]{40})$/.exec(uri.slice(KEEPER_URI_PREFIX.length));
  if (!m) return undefined;
  const keeperId = Number(m[1]);
  if (!Number.isSafeInteger(keeperId) || keeperId > 0xffffffff) return undefined;
  return { keeperId, account: m[2]! };
}

/**
 * The keeper identity a peer certificate carries: its one keeper URI among
 * the subject alternative names (Node renders them as `URI:…, DNS:…`). A
 * certificate with none, or with two different ones, names no keeper.
 */
export function identityOfCertificate(
  cert: Pick<PeerCertificate, 'subjectaltname'> | undefined,
): KeeperIdentity | undefined {
  const san = cert?.subjectaltname;
  if (!san) return undefined;
  const ids = san
    .split(/,\s*/)
    .filter((name) => name.startsWith('URI:'))
    .map((name) => parseKeeperUri(name.slice(4)))
    .filter((id): id is KeeperIdentity => id !== undefined);
  if (ids.length === 0) return undefined;
  const first = ids[0]!;
  return ids.every((id) => id.keeperId === first.keeperId && id.account === first.account)
    ? first
    : undefined;
}

/** What a server call knows about its caller's transport. */
export interface CallSecurity {
  /** `ssl` on an mTLS connection, `insecure` on plaintext. */
  transport: 'ssl' | 'insecure';
  /** The keeper the client certificate names; undefined on plaintext or without one. */
  identity: KeeperIdentity | undefined;
}

/** The transport and peer identity of a server call (grpc-js' auth context). */
export function callSecurity(
  call: Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getAuthContext'>,
): CallSecurity {
  const ctx = call.getAuthContext() ?? null;
  if (ctx?.transportSecurityType !== 'ssl') return { transport: 'insecure', identity: undefined };
  return { transport: 'ssl', identity: identityOfCertificate(ctx.sslPeerCertificate) };
}

/**
 * Server credentials: TLS that asks every client for its certificate, plaintext
 * only when the caller passes no material — which the service configs allow
 * only behind an explicit `*_PLAINTEXT=true` for local development.
 *
 * The handshake does not refuse a client whose certificate is missing or does
 * not chain to the CA bundle: such a connection carries no verified peer
 * (grpc-js gives its calls an empty auth context), and every handler built with
 * `unary(…, { requireCertificate: true })` refuses each of its calls with
 * `RPC_CERTIFICATE_REQUIRED` — typed, logged with the peer's address and
 * counted — where a refused handshake would leave no trace but a closed socket.
 * A server on these credentials must build every handler that way.
 */
export function serverCredentials(tls: TlsMaterial | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return new PeerServerCredentials(tls);
}

class PeerServerCredentials extends grpc.ServerCredentials {
  constructor(tls: TlsMaterial) {
    super({ requestCert: true, rejectUnauthorized: false }, { ca: tls.ca, cert: [tls.cert], key: [tls.key] });
  }
  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * Channel credentials of a client: mutual TLS presenting this side's
 * certificate; the server's certificate must chain to the CA bundle and, when
 * `expect` is given, name that keeper (its keeper id, and its account when
 * given) — a host name match is neither needed nor sufficient.
 */
export function channelCredentials(
  tls: TlsMaterial | undefined,
  expect?: { keeperId: number; account?: string },
): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(tls.ca, tls.key, tls.cert, {
    checkServerIdentity: (_host, cert) => {
      if (!expect) return undefined;
      const id = identityOfCertificate(cert);
      if (!id) return new Error('the server certificate names no keeper (no urn:whitepay:keeper: URI)');
      if (id.keeperId !== expect.keeperId)
        return new Error(
          `the server certificate is keeper ${id.keeperId}'s, not keeper ${expect.keeperId}'s`,
        );
      if (expect.account !== undefined && id.account !== expect.account.toLowerCase())
        return new Error(
          `the server certificate names account ${id.account}, keeper ${expect.keeperId} is ${expect.account}`,
        );
      return undefined;
    },
  });
}
