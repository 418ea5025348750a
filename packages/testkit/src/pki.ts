import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, type IssuedPem, issueKeeperCertificate, issueTlsCertificate } from '@whitepay/rpc/pki';

/**
 * A keeper group's PKI for tests and the local network: one CA, and per
 * keeper a certificate naming it (`urn:whitepay:keeper:<id>:<account>`),
 * written as PEM files. `env` gives a coordinator's PEER_TLS_* variables.
 */
export interface GroupPki {
  dir: string;
  caFile: string;
  /**
   * Writes keeper `keeperId`'s certificate and key and returns the
   * coordinator variables. `as` issues it for another identity instead (the
   * tests of a keeper holding someone else's certificate).
   */
  env(
    prefix: string,
    keeperId: number,
    account: string,
    as?: { keeperId: number; account: string },
  ): Promise<Record<string, string>>;
}

export async function createGroupPki(dir?: string): Promise<GroupPki> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'whitepay-pki-')));
  mkdirSync(root, { recursive: true });
  const ca: IssuedPem = await createCa('WhitePay test group CA');
  const caFile = join(root, 'ca.pem');
  writeFileSync(caFile, ca.cert);
  return {
    dir: root,
    caFile,
    async env(prefix, keeperId, account, as) {
      const identity = as ?? { keeperId, account };
      const cert = await issueKeeperCertificate(
        ca,
        { keeperId: identity.keeperId, account: identity.account.toLowerCase() },
        { dnsNames: ['localhost'] },
      );
      const base = join(root, `keeper-${keeperId}${as ? `-as-${as.keeperId}` : ''}`);
      writeFileSync(`${base}.crt`, cert.cert);
      writeFileSync(`${base}.key`, cert.key, { mode: 0o600 });
      return {
        [`${prefix}_PEER_TLS_CA_FILE`]: caFile,
        [`${prefix}_PEER_TLS_CERT_FILE`]: `${base}.crt`,
        [`${prefix}_PEER_TLS_KEY_FILE`]: `${base}.key`,
      };
    },
  };
}

let shared: Promise<GroupPki> | undefined;
/** One PKI per test process: every keeper a test starts trusts every other. */
export function sharedGroupPki(): Promise<GroupPki> {
  shared ??= createGroupPki();
  return shared;
}

/**
 * PKI of the servers a keeper depends on, for TLS tests: a CA, a server
 * certificate for `localhost` and 127.0.0.1 (what nats-server, redis-server
 * and postgres present), a client certificate (mutual TLS), and a second CA
 * that signed none of them (a client trusting it must refuse the server).
 */
export interface ServerPki {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A CA unrelated to the certificates above. */
  otherCaFile: string;
  /** A client certificate signed by the unrelated CA (refused by a server that verifies clients). */
  strangerCertFile: string;
  strangerKeyFile: string;
}

export async function createServerPki(dir?: string): Promise<ServerPki> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'whitepay-server-pki-')));
  mkdirSync(root, { recursive: true });
  const ca = await createCa('WhitePay test dependency CA');
  const other = await createCa('WhitePay unrelated CA');
  const server = await issueTlsCertificate(ca, {
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  const client = await issueTlsCertificate(ca, { commonName: 'whitepay-keeper' });
  const stranger = await issueTlsCertificate(other, { commonName: 'stranger' });
  const write = (name: string, pem: string, mode = 0o644) => {
    const path = join(root, name);
    writeFileSync(path, pem, { mode });
    return path;
  };
  return {
    dir: root,
    caFile: write('ca.crt', ca.cert),
    certFile: write('server.crt', server.cert),
    keyFile: write('server.key', server.key, 0o600),
    clientCertFile: write('client.crt', client.cert),
    clientKeyFile: write('client.key', client.key, 0o600),
    otherCaFile: write('other-ca.crt', other.cert),
    strangerCertFile: write('stranger.crt', stranger.cert),
    strangerKeyFile: write('stranger.key', stranger.key, 0o600),
  };
}

/** TLS of a test server: its certificate, and with `verifyClients` the CA its clients' certificates must chain to. */
export interface ServerTlsOptions {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** Require a client certificate signed by `caFile` (mutual TLS). */
  verifyClients?: boolean;
}
