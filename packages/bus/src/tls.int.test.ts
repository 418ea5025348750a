import { ConfigError, parseConfig, silentLogger, TlsError } from '@whitepay/base';
import { createServerPki, type NatsServer, type ServerPki, startNats } from '@whitepay/testkit';
import { AckPolicy, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, ensureStreams, natsConfigSchema, natsEndpointOf, subjects } from './index.js';

const P = 'T';
const endpoint = (env: Record<string, string>) => natsEndpointOf(parseConfig(natsConfigSchema, P, env), P);

// NATS over TLS on loopback: a server with a certificate of a test CA (and one that
// also requires client certificates); the client trusts that CA, or another.
describe('bus over TLS on a real nats-server', () => {
  let pki: ServerPki;
  let tls: NatsServer;
  let mtls: NatsServer;
  const stops: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    pki = await createServerPki();
    [tls, mtls] = await Promise.all([
      startNats({ tls: pki, args: ['--user', 'keeper', '--pass', 'pass-of-keeper'] }),
      startNats({ tls: { ...pki, verifyClients: true } }),
    ]);
    stops.push(tls.stop, mtls.stop);
  });
  afterAll(async () => {
    for (const s of stops.reverse()) await s();
  });
  const connect = async (env: Record<string, string>) => {
    const nc = await connectBus({ ...endpoint(env), name: 'tls-test', log: silentLogger() });
    stops.push(() => nc.close());
    return nc;
  };
  const roundTrip = async (nc: NatsConnection, ns: string) => {
    const s = subjects(ns);
    const jsm = await nc.jetstreamManager();
    await ensureStreams(jsm, s);
    const ack = await nc
      .jetstream()
      .publish(s.recordsFor('0xab', '0xcd'), new Uint8Array([7]), { msgID: 'm1' });
    expect(ack.seq).toBe(1);
    await jsm.consumers.add(s.streams.records, { durable_name: 'c', ack_policy: AckPolicy.Explicit });
    const consumer = await nc.jetstream().consumers.get(s.streams.records, 'c');
    const m = await consumer.next({ expires: 2000 });
    expect(Array.from(m?.data ?? [])).toEqual([7]);
    m?.ack();
  };

  it('publishes and consumes on JetStream over TLS, the server checked against the CA (user and password from the config)', async () => {
    expect(tls.url.startsWith('tls://')).toBe(true);
    const nc = await connect({
      T_NATS_URL: tls.url,
      T_NATS_TLS_CA_FILE: pki.caFile,
      T_NATS_USER: 'keeper',
      T_NATS_PASSWORD: 'pass-of-keeper',
    });
    expect(nc.info?.tls_required).toBe(true);
    await roundTrip(nc, 'tls1');
  });

  it('presents a client certificate to a server that requires one (mutual TLS)', async () => {
    const nc = await connect({
      T_NATS_URL: mtls.url,
      T_NATS_TLS_CA_FILE: pki.caFile,
      T_NATS_TLS_CERT_FILE: pki.clientCertFile,
      T_NATS_TLS_KEY_FILE: pki.clientKeyFile,
    });
    await roundTrip(nc, 'mtls1');
  });

  it('refuses, typed and at once, a server whose certificate another CA signed', async () => {
    const err = await connect({
      T_NATS_URL: tls.url,
      T_NATS_TLS_CA_FILE: pki.otherCaFile,
      T_NATS_USER: 'keeper',
      T_NATS_PASSWORD: 'pass-of-keeper',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsError);
    expect((err as TlsError).code).toBe('NATS_TLS_REFUSED');
  });

  it('is refused by a TLS-only server when it speaks plaintext, by an mTLS server without a client certificate or with a stranger one', async () => {
    for (const env of [
      { T_NATS_URL: tls.url.replace('tls://', 'nats://') },
      { T_NATS_URL: mtls.url, T_NATS_TLS_CA_FILE: pki.caFile },
      {
        T_NATS_URL: mtls.url,
        T_NATS_TLS_CA_FILE: pki.caFile,
        T_NATS_TLS_CERT_FILE: pki.strangerCertFile,
        T_NATS_TLS_KEY_FILE: pki.strangerKeyFile,
      },
    ]) {
      const err = await connect(env).catch((e: unknown) => e);
      expect((err as TlsError).code, JSON.stringify(env)).toBe('NATS_TLS_REFUSED');
    }
  });

  it('fails typed on refused credentials', async () => {
    const err = await connect({
      T_NATS_URL: tls.url,
      T_NATS_TLS_CA_FILE: pki.caFile,
      T_NATS_USER: 'keeper',
      T_NATS_PASSWORD: 'not-the-password',
    }).catch((e: unknown) => e);
    expect((err as TlsError).code).toBe('NATS_AUTH_REFUSED');
  });

  it('refuses unreadable, non-PEM or mismatched files and contradictory credentials before connecting', () => {
    const fileErr = (env: Record<string, string>) => {
      try {
        endpoint({ T_NATS_URL: tls.url, ...env });
      } catch (err) {
        return err as TlsError;
      }
      throw new Error('accepted');
    };
    expect(fileErr({ T_NATS_TLS_CA_FILE: '/nonexistent/ca.crt' }).code).toBe('TLS_FILE_INVALID');
    expect(fileErr({ T_NATS_TLS_CA_FILE: pki.clientKeyFile }).message).toMatch(
      /T_NATS_TLS_CA_FILE.*not a certificate/,
    );
    expect(
      fileErr({ T_NATS_TLS_CERT_FILE: pki.clientCertFile, T_NATS_TLS_KEY_FILE: pki.strangerKeyFile }).message,
    ).toMatch(/is not the key of/);
    expect(fileErr({ T_NATS_TLS_CERT_FILE: pki.clientCertFile })).toBeInstanceOf(ConfigError);
    expect(fileErr({ T_NATS_TOKEN: 'tok', T_NATS_USER: 'u', T_NATS_PASSWORD: 'p' })).toBeInstanceOf(
      ConfigError,
    );
    expect(fileErr({ T_NATS_CREDS_FILE: pki.caFile }).message).toMatch(/not a NATS creds file/);
    expect(endpoint({ T_NATS_URL: 'nats://127.0.0.1:4222' }).tls).toBeUndefined();
    expect(endpoint({ T_NATS_URL: 'tls://127.0.0.1:4222' }).tls).toEqual({});
  });
});
