import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@whitepay/base';
import { describe, expect, it } from 'vitest';
import { peerTlsConfigSchema, peerTlsOf } from './config.js';
import { createCa, issueKeeperCertificate } from './pki.js';

describe('peer TLS config', () => {
  it('needs the three files, or an explicit plaintext; never half of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-'));
    const ca = await createCa('group');
    const cert = await issueKeeperCertificate(ca, { keeperId: 1, account: `0x${'11'.repeat(20)}` });
    writeFileSync(join(dir, 'ca.pem'), ca.cert);
    writeFileSync(join(dir, 'tls.crt'), cert.cert);
    writeFileSync(join(dir, 'tls.key'), cert.key);
    const parse = (env: Record<string, string>) => parseConfig(peerTlsConfigSchema, 'C', env);
    const files = {
      C_PEER_TLS_CA_FILE: join(dir, 'ca.pem'),
      C_PEER_TLS_CERT_FILE: join(dir, 'tls.crt'),
      C_PEER_TLS_KEY_FILE: join(dir, 'tls.key'),
    };
    const material = peerTlsOf(parse(files), 'C');
    expect(material?.cert.toString()).toBe(cert.cert);
    expect(peerTlsOf(parse({ C_PEER_PLAINTEXT: 'true' }), 'C')).toBeUndefined();
    expect(() => peerTlsOf(parse({}), 'C')).toThrow(/peer gRPC needs mTLS/);
    expect(() => peerTlsOf(parse({ C_PEER_TLS_CA_FILE: files.C_PEER_TLS_CA_FILE }), 'C')).toThrow(/1 of 3/);
    expect(() => peerTlsOf(parse({ ...files, C_PEER_PLAINTEXT: 'true' }), 'C')).toThrow(/contradicts/);
    expect(() => peerTlsOf(parse({ ...files, C_PEER_TLS_KEY_FILE: join(dir, 'nope') }), 'C')).toThrow(
      expect.objectContaining({ code: 'TLS_FILE_INVALID' }),
    );
  });
});
