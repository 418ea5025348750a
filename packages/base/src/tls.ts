import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from './config.js';
import { WhitePayError } from './errors.js';

/**
 * TLS material of a client connection to a dependency (NATS, Redis,
 * PostgreSQL) run by another team or organisation: the CA bundle the
 * server's certificate must chain to, and, for mutual TLS, this client's
 * certificate and key. Read from PEM files (mounted Secrets) once, at start.
 */
export interface ClientTlsMaterial {
  /** CAs the server certificate must chain to; unset: the system trust store. */
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
}

/** The three optional files of a {@link ClientTlsMaterial}, and the variables naming them (for errors). */
export interface ClientTlsFiles {
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

/** A TLS file that cannot be read or is not what it should be (`TLS_FILE_INVALID`), or a refused handshake. */
export class TlsError extends WhitePayError {
  override readonly name = 'TlsError';
}

export type PemKind = 'CA bundle' | 'certificate' | 'private key';

/**
 * Reads one PEM file and checks it parses as what it should be (a CA bundle
 * or certificate: an X.509 certificate first; a private key: a key), so a
 * swapped or truncated file fails the start by name, not the first handshake.
 * `variable` (`CHALLENGER_NATS_TLS_CA_FILE`) goes into the message.
 */
export function readPemFile(path: string, what: PemKind, variable?: string): Buffer {
  const fail = (reason: string, cause?: unknown): never => {
    throw new TlsError(
      'TLS_FILE_INVALID',
      `${variable ? `${variable}: ` : ''}cannot read the ${what} ${path}: ${reason}`,
      { kind: 'failed_precondition', details: { path, what, ...(variable ? { variable } : {}) }, cause },
    );
  };
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    return fail((err as NodeJS.ErrnoException).code ?? (err as Error).message, err);
  }
  if (!pem.includes('-----BEGIN ')) return fail('not PEM');
  try {
    if (what === 'private key') createPrivateKey(pem);
    else new X509Certificate(pem);
  } catch (err) {
    return fail(
      `not a ${what === 'private key' ? 'private key' : 'certificate'} (${(err as Error).message})`,
      err,
    );
  }
  return pem;
}

/**
 * Reads the files of a client's TLS: none set gives undefined (the caller
 * decides whether TLS is still on, from the URL scheme); a certificate
 * without its key, or a key without its certificate, is a config error; a
 * key that is not the certificate's is a `TLS_FILE_INVALID`.
 */
export function readClientTls(
  files: ClientTlsFiles,
  names: { ca: string; cert: string; key: string },
): ClientTlsMaterial | undefined {
  const set = (f: string | undefined): f is string => f !== undefined && f !== '';
  if (!set(files.caFile) && !set(files.certFile) && !set(files.keyFile)) return undefined;
  if (set(files.certFile) !== set(files.keyFile))
    throw new ConfigError(`invalid configuration: ${names.cert} and ${names.key} go together (mutual TLS)`, {
      problems: [`${set(files.certFile) ? names.key : names.cert}: unset while the other is set`],
    });
  const out: ClientTlsMaterial = {};
  if (set(files.caFile)) out.ca = readPemFile(files.caFile, 'CA bundle', names.ca);
  if (set(files.certFile) && set(files.keyFile)) {
    out.cert = readPemFile(files.certFile, 'certificate', names.cert);
    out.key = readPemFile(files.keyFile, 'private key', names.key);
    if (!new X509Certificate(out.cert).checkPrivateKey(createPrivateKey(out.key)))
      throw new TlsError(
        'TLS_FILE_INVALID',
        `${names.key}: ${files.keyFile} is not the key of ${files.certFile}`,
        {
          kind: 'failed_precondition',
          details: { path: files.keyFile, what: 'private key', variable: names.key },
        },
      );
  }
  return out;
}

/** Node error codes of a refused TLS handshake: a certificate that does not verify, a name that does not match. */
const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Whether `err` (or one of its causes) is a TLS handshake failure: a server
 * certificate this client does not trust, a name mismatch, or an alert of the
 * server (a client certificate it refused or that is missing).
 */
export function isTlsHandshakeError(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (TLS_VERIFY_CODES.has(code) || /^ERR_(SSL|TLS)_/.test(code))) return true;
  }
  return false;
}
