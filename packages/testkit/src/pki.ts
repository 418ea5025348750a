import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, type IssuedPem, issueKeeperCertificate } from '@whitepay/rpc/pki';

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
