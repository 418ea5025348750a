import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config.js';
import { isTlsHandshakeError, readClientTls, readPemFile, TlsError } from './tls.js';

const dir = mkdtempSync(join(tmpdir(), 'whitepay-tls-test-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const key = String(
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
);
const names = { ca: 'X_CA_FILE', cert: 'X_CERT_FILE', key: 'X_KEY_FILE' };

describe('readPemFile / readClientTls', () => {
  it('refuses a missing file, a non-PEM one and a key given as a certificate, naming the variable', () => {
    const err = (() => {
      try {
        readPemFile('/nonexistent/ca.crt', 'CA bundle', 'X_CA_FILE');
      } catch (e) {
        return e as TlsError;
      }
    })();
    expect(err).toBeInstanceOf(TlsError);
    expect(err?.code).toBe('TLS_FILE_INVALID');
    expect(err?.message).toBe('X_CA_FILE: cannot read the CA bundle /nonexistent/ca.crt: ENOENT');
    expect(() => readPemFile(file('plain.txt', 'hello'), 'certificate')).toThrow(/not PEM/);
    expect(() => readPemFile(file('key.pem', key), 'CA bundle')).toThrow(/not a certificate/);
    expect(readPemFile(join(dir, 'key.pem'), 'private key').toString()).toBe(key);
  });

  it('gives undefined without files, and refuses a certificate without its key (or the reverse)', () => {
    expect(readClientTls({}, names)).toBeUndefined();
    expect(readClientTls({ caFile: '' }, names)).toBeUndefined();
    expect(() => readClientTls({ certFile: '/c' }, names)).toThrow(ConfigError);
    expect(() => readClientTls({ keyFile: '/k' }, names)).toThrow(/X_CERT_FILE and X_KEY_FILE go together/);
  });
});

describe('isTlsHandshakeError', () => {
  it('recognises verification codes and TLS alerts, in causes too, and nothing else', () => {
    expect(
      isTlsHandshakeError(Object.assign(new Error('x'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })),
    ).toBe(true);
    expect(isTlsHandshakeError({ code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' })).toBe(true);
    expect(
      isTlsHandshakeError(new Error('wrapped', { cause: { code: 'ERR_TLS_CERT_ALTNAME_INVALID' } })),
    ).toBe(true);
    expect(isTlsHandshakeError({ code: 'ECONNREFUSED' })).toBe(false);
    expect(isTlsHandshakeError(undefined)).toBe(false);
  });
});
