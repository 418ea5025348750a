import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { type KeeperIdentity, keeperUri } from './tls.js';

/**
 * A small PKI for a keeper group whose operators have none of their own: a
 * CA per organisation (or one for the group) and keeper certificates carrying
 * the keeper URI. ECDSA P-256 with SHA-256, through WebCrypto and
 * @peculiar/x509. Operators with cert-manager or a corporate CA issue the same
 * certificates there: what matters is the URI SAN (see tls.ts).
 */
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type SelfSigned = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0];
type Signed = Extract<Parameters<typeof x509.X509CertificateGenerator.create>[0], { signingKey: unknown }>;
type SkiKey = Parameters<typeof x509.SubjectKeyIdentifierExtension.create>[0];

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface IssuedPem {
  cert: string;
  key: string;
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function serial(): string {
  // A positive 16-byte serial (the top bit clear).
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0]! &= 0x7f;
  return Buffer.from(b).toString('hex');
}

/** A self-signed CA that may sign keeper certificates only (path length 0). */
export async function createCa(name: string, days = 3650): Promise<IssuedPem> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * DAY_MS),
    signingAlgorithm: ALG,
    keys: keys as unknown as SelfSigned['keys'],
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as unknown as SkiKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) };
}

type AltName = { type: 'url' | 'dns' | 'ip'; value: string };

/** A leaf certificate signed by `ca`, for server and client use, with the given alternative names. */
async function issueLeaf(
  ca: IssuedPem,
  opts: { subject: string; names: AltName[]; days?: number | undefined },
): Promise<IssuedPem> {
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.key), ALG, false, [
    'sign',
  ]);
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: opts.subject,
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (opts.days ?? 825) * DAY_MS),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey as unknown as Signed['publicKey'],
    signingKey: caKey as unknown as Signed['signingKey'],
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      ...(opts.names.length > 0 ? [new x509.SubjectAlternativeNameExtension(opts.names)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) };
}

/**
 * A keeper certificate signed by `ca`: usable as server and client (one
 * certificate for the peer port and for calling peers), naming the keeper URI
 * and, for host name checks of ordinary TLS clients, the given DNS names.
 */
export function issueKeeperCertificate(
  ca: IssuedPem,
  identity: KeeperIdentity,
  opts: { dnsNames?: string[]; days?: number } = {},
): Promise<IssuedPem> {
  return issueLeaf(ca, {
    subject: `CN=whitepay keeper ${identity.keeperId}`,
    names: [
      { type: 'url', value: keeperUri(identity) },
      ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ],
    days: opts.days,
  });
}

/**
 * A certificate of a dependency's server (NATS, Redis, PostgreSQL) or of a
 * client of one, signed by `ca`: server and client use, naming the given
 * host names and IP addresses (what a TLS client checks the server against).
 */
export function issueTlsCertificate(
  ca: IssuedPem,
  opts: { commonName: string; dnsNames?: string[]; ipAddresses?: string[]; days?: number },
): Promise<IssuedPem> {
  return issueLeaf(ca, {
    subject: `CN=${opts.commonName}`,
    names: [
      ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(opts.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ],
    days: opts.days,
  });
}
