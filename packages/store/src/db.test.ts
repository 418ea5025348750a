import type { ConnectionOptions } from 'node:tls';
import { ConfigError } from '@whitepay/base';
import { describe, expect, it } from 'vitest';
import { pgConnection } from './db.js';

const ca = Buffer.from('ca');
const U = 'postgres://u:p@db.example.org:5432/keeper';

describe('pgConnection: sslmode and the TLS files', () => {
  it('leaves a URL without TLS untouched (pg and PGSSLMODE decide, as before)', () => {
    expect(pgConnection(U)).toEqual({ connectionString: U, ssl: undefined, sslmode: undefined });
  });

  it('verifies chain and host name by default when a CA is given, the chain only with verify-ca or require', () => {
    const full = pgConnection(U, { ca });
    expect(full.sslmode).toBe('verify-full');
    expect(full.ssl).toEqual({ ca, rejectUnauthorized: true });
    for (const mode of ['verify-ca', 'require']) {
      const r = pgConnection(`${U}?sslmode=${mode}`, { ca });
      expect(r.sslmode).toBe('verify-ca');
      expect(r.connectionString).toBe(U);
      const ssl = r.ssl as ConnectionOptions;
      expect(ssl.rejectUnauthorized).toBe(true);
      // The host name is not checked: a function that accepts any.
      expect(ssl.checkServerIdentity?.('other.example.org', {} as never)).toBeUndefined();
      expect(typeof ssl.checkServerIdentity).toBe('function');
    }
  });

  it('without a CA: require and prefer encrypt unverified, verify-* use the system store, disable and allow are plaintext', () => {
    expect(pgConnection(`${U}?sslmode=require`).ssl).toEqual({ rejectUnauthorized: false });
    expect(pgConnection(`${U}?sslmode=prefer`).ssl).toEqual({ rejectUnauthorized: false });
    expect(pgConnection(`${U}?sslmode=verify-full`).ssl).toEqual({ rejectUnauthorized: true });
    expect(pgConnection(`${U}?sslmode=disable&application_name=x`)).toEqual({
      connectionString: `${U}?application_name=x`,
      ssl: false,
      sslmode: 'disable',
    });
    expect(pgConnection(`${U}?sslmode=allow`).ssl).toBe(false);
  });

  it('passes the client certificate and key', () => {
    const cert = Buffer.from('c');
    const key = Buffer.from('k');
    expect(pgConnection(U, { ca, cert, key }).ssl).toEqual({ ca, cert, key, rejectUnauthorized: true });
  });

  it('refuses a CA with a mode that may fall back to plaintext, unknown modes and the file parameters pg would read itself', () => {
    for (const mode of ['disable', 'allow', 'prefer'])
      expect(() => pgConnection(`${U}?sslmode=${mode}`, { ca })).toThrow(ConfigError);
    expect(() => pgConnection(`${U}?sslmode=strict`)).toThrow(/not one of/);
    expect(() => pgConnection(`${U}?sslrootcert=/ca.pem`)).toThrow(/DATABASE_TLS_/);
    expect(() => pgConnection(`${U}?ssl=true`)).toThrow(ConfigError);
  });
});
