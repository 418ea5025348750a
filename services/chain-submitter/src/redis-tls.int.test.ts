import { ConfigError, parseConfig, TlsError, WhitePayError } from '@whitepay/base';
import { createRedis, redisConfigSchema, redisReady } from '@whitepay/redis';
import { createServerPki, type RedisServer, type ServerPki, startRedis } from '@whitepay/testkit';
import { Queue, QueueEvents, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const P = 'T';
const config = (env: Record<string, string>) => parseConfig(redisConfigSchema, P, env);

// The one Redis piece (`createRedis`) over TLS on a real redis-server: a TLS-only server
// with a certificate of a test CA, and one that also requires client certificates.
describe('Redis over TLS on a real redis-server', () => {
  let pki: ServerPki;
  let tls: RedisServer;
  let mtls: RedisServer;
  const clients: Redis[] = [];
  const stops: Array<() => Promise<unknown>> = [];
  beforeAll(async () => {
    pki = await createServerPki();
    [tls, mtls] = await Promise.all([
      startRedis({ tls: pki }),
      startRedis({ tls: { ...pki, verifyClients: true } }),
    ]);
    stops.push(tls.stop, mtls.stop);
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of stops.reverse()) await s();
  });
  const open = (env: Record<string, string>) => {
    const r = createRedis(config(env), P);
    r.on('error', () => {});
    clients.push(r);
    return r;
  };

  it('SET/GET and a BullMQ job over TLS, the server checked against the CA; queues and workers run on duplicates of the one client', async () => {
    expect(tls.url.startsWith('rediss://')).toBe(true);
    const redis = open({ T_REDIS_URL: tls.url, T_REDIS_TLS_CA_FILE: pki.caFile });
    await redisReady(redis);
    await redis.set('k', 'v');
    expect(await redis.get('k')).toBe('v');
    const conn = redis.duplicate({ maxRetriesPerRequest: null });
    clients.push(conn);
    const queue = new Queue('tls-jobs', { connection: conn, prefix: 'tls' });
    const events = new QueueEvents('tls-jobs', { connection: conn.duplicate(), prefix: 'tls' });
    const worker = new Worker('tls-jobs', async (job) => (job.data as { n: number }).n * 2, {
      connection: conn,
      prefix: 'tls',
    });
    stops.push(
      () => queue.close(),
      () => events.close(),
      () => worker.close(),
    );
    await events.waitUntilReady();
    const job = await queue.add('double', { n: 21 });
    expect(await job.waitUntilFinished(events, 10_000)).toBe(42);
  });

  it('presents a client certificate to a server with tls-auth-clients (mutual TLS)', async () => {
    const redis = open({
      T_REDIS_URL: mtls.url,
      T_REDIS_TLS_CA_FILE: pki.caFile,
      T_REDIS_TLS_CERT_FILE: pki.clientCertFile,
      T_REDIS_TLS_KEY_FILE: pki.clientKeyFile,
    });
    await redisReady(redis);
    expect(await redis.ping()).toBe('PONG');
  });

  it('refuses, typed, a server whose certificate another CA signed, and an mTLS server refuses a client without a certificate', async () => {
    for (const env of [
      { T_REDIS_URL: tls.url, T_REDIS_TLS_CA_FILE: pki.otherCaFile },
      { T_REDIS_URL: mtls.url, T_REDIS_TLS_CA_FILE: pki.caFile },
      {
        T_REDIS_URL: mtls.url,
        T_REDIS_TLS_CA_FILE: pki.caFile,
        T_REDIS_TLS_CERT_FILE: pki.strangerCertFile,
        T_REDIS_TLS_KEY_FILE: pki.strangerKeyFile,
      },
    ]) {
      // A refused client certificate reaches the client as the server's TLS alert, or, on a loaded
      // machine, as a reset before the alert is read: the next attempt (ioredis retries) reads it.
      const err = await redisReady(open(env), 20_000).catch((e: unknown) => e);
      expect(err, JSON.stringify(env)).toBeInstanceOf(TlsError);
      expect((err as TlsError).code).toBe('REDIS_TLS_REFUSED');
    }
  }, 90_000);

  it('gets no answer in plaintext from a TLS-only server', async () => {
    const err = await redisReady(open({ T_REDIS_URL: tls.url.replace('rediss://', 'redis://') }), 2000).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WhitePayError);
    expect((err as WhitePayError).code).toBe('REDIS_UNAVAILABLE');
  });

  it('refuses TLS files with a redis:// URL, and unreadable or non-PEM files, before connecting', () => {
    const thrown = (env: Record<string, string>) => {
      try {
        createRedis(config(env), P).disconnect();
      } catch (err) {
        return err as WhitePayError;
      }
      throw new Error('accepted');
    };
    expect(thrown({ T_REDIS_URL: 'redis://127.0.0.1:1', T_REDIS_TLS_CA_FILE: pki.caFile })).toBeInstanceOf(
      ConfigError,
    );
    expect(thrown({ T_REDIS_URL: tls.url, T_REDIS_TLS_CA_FILE: '/nonexistent' }).code).toBe(
      'TLS_FILE_INVALID',
    );
    expect(thrown({ T_REDIS_URL: tls.url, T_REDIS_TLS_KEY_FILE: pki.clientKeyFile })).toBeInstanceOf(
      ConfigError,
    );
  });
});
