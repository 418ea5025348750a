import { ConfigError, createRegistry, parseConfig, rejectedCounter, silentLogger } from '@whitepay/base';
import { startNats } from '@whitepay/testkit';
import { type NatsConnection, headers as natsHeaders } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUS_SIG_HEADER,
  BusAuthError,
  busIdentityOf,
  busSigner,
  busVerifier,
  connectBus,
  DEFAULT_STREAM_LIMITS,
  ensureStreams,
  natsConfigSchema,
  STREAM_KINDS,
  streamLimitsOf,
  subjects,
} from './index.js';

const KEY = `0x${'11'.repeat(32)}` as const;
const OTHER = `0x${'22'.repeat(32)}` as const;
const enc = new TextEncoder();

describe('bus signatures and capped streams on a real nats-server -js', () => {
  const stops: Array<() => Promise<void>> = [];
  let nc: NatsConnection;
  beforeAll(async () => {
    const nats = await startNats();
    stops.push(nats.stop);
    nc = await connectBus({ url: nats.url, name: 'auth-test', log: silentLogger() });
    stops.push(() => nc.close());
  });
  afterAll(async () => {
    for (const s of stops.reverse()) await s();
  });

  /** Publishes on JetStream and reads the message back as the consumer sees it. */
  const roundTrip = async (
    ns: string,
    subject: string,
    data: Uint8Array,
    hdrs?: ReturnType<typeof natsHeaders>,
  ) => {
    const s = subjects(ns);
    const jsm = await nc.jetstreamManager();
    await ensureStreams(jsm, s);
    const ack = await nc.jetstream().publish(subject, data, hdrs ? { headers: hdrs } : undefined);
    const m = await jsm.streams.getMessage(ack.stream, { seq: ack.seq });
    return { subject: m.subject, data: m.data, headers: m.header };
  };

  it('accepts a message signed by the bus key and refuses, typed and counted, unsigned, foreign, moved, altered and malformed ones', async () => {
    const s = subjects('auth1');
    const subject = s.recordsFor('0xab', '0xcd');
    const data = enc.encode('a record');
    const signer = busSigner(KEY);
    const verifier = busVerifier(signer.address);
    const ok = await roundTrip('auth1', subject, data, signer.headers(subject, data));
    expect(verifier.verify(ok)).toBe(signer.address);

    const code = (m: Parameters<typeof verifier.verify>[0]) => {
      try {
        verifier.verify(m);
      } catch (err) {
        expect(err).toBeInstanceOf(BusAuthError);
        return (err as BusAuthError).code;
      }
      return 'accepted';
    };
    expect(code(await roundTrip('auth1', subject, data))).toBe('BUS_MESSAGE_UNSIGNED');
    expect(code(await roundTrip('auth1', subject, data, busSigner(OTHER).headers(subject, data)))).toBe(
      'BUS_SIGNER_FOREIGN',
    );
    // signed for another account's subject, or with other bytes: recovers another key
    const moved = s.recordsFor('0xab', '0xee');
    expect(code(await roundTrip('auth1', moved, data, signer.headers(subject, data)))).toBe(
      'BUS_SIGNER_FOREIGN',
    );
    expect(code(await roundTrip('auth1', subject, enc.encode('1 PiB'), signer.headers(subject, data)))).toBe(
      'BUS_SIGNER_FOREIGN',
    );
    const bad = natsHeaders();
    bad.set(BUS_SIG_HEADER, '0x1234');
    expect(code(await roundTrip('auth1', subject, data, bad))).toBe('BUS_SIGNATURE_INVALID');
    const zero = natsHeaders();
    zero.set(BUS_SIG_HEADER, `0x${'00'.repeat(64)}1b`);
    expect(code(await roundTrip('auth1', subject, data, zero))).toBe('BUS_SIGNATURE_INVALID');

    const registry = createRegistry('test');
    const rejected = rejectedCounter(registry);
    const ctx = { boundary: 'nats:test', rejected, log: silentLogger() };
    expect(verifier.accept(ok, ctx)).toBe(true);
    expect(verifier.accept(await roundTrip('auth1', subject, data), ctx)).toBe(false);
    const metric = await registry.getSingleMetricAsString('whitepay_rejected_messages_total');
    expect(metric).toMatch(/boundary="nats:test",reason="BUS_MESSAGE_UNSIGNED"[^\n]* 1/);
  });

  it('with a MAC key: MACs instead of signing; checks the MAC (wrong key, moved, altered: BUS_MAC_INVALID) and still takes signatures', async () => {
    const MAC = `0x${'33'.repeat(32)}` as const;
    const s = subjects('auth2');
    const subject = s.recordsFor('0xab', '0xcd');
    const data = enc.encode('a record');
    const macSigner = busSigner(KEY, { macKey: MAC });
    const verifier = busVerifier(macSigner.address, { macKey: MAC });
    const maced = await roundTrip('auth2', subject, data, macSigner.headers(subject, data));
    expect(maced.headers?.get(BUS_SIG_HEADER)).toBe('');
    expect(verifier.verify(maced)).toBe(macSigner.address);
    expect(
      verifier.verify(await roundTrip('auth2', subject, data, busSigner(KEY).headers(subject, data))),
    ).toBe(macSigner.address);
    const code = (m: Parameters<typeof verifier.verify>[0], v = verifier) => {
      try {
        v.verify(m);
        return 'accepted';
      } catch (err) {
        return (err as BusAuthError).code;
      }
    };
    const other = busSigner(KEY, { macKey: `0x${'44'.repeat(32)}` });
    expect(code(await roundTrip('auth2', subject, data, other.headers(subject, data)))).toBe(
      'BUS_MAC_INVALID',
    );
    const moved = s.recordsFor('0xab', '0xee');
    expect(code(await roundTrip('auth2', moved, data, macSigner.headers(subject, data)))).toBe(
      'BUS_MAC_INVALID',
    );
    expect(
      code(await roundTrip('auth2', subject, enc.encode('1 PiB'), macSigner.headers(subject, data))),
    ).toBe('BUS_MAC_INVALID');
    // a consumer without the MAC key cannot take a MAC for a signature
    expect(code(maced, busVerifier(macSigner.address))).toBe('BUS_MESSAGE_UNSIGNED');
    const id = busIdentityOf({ natsMacKey: MAC }, { accountKey: KEY, prefix: 'X' });
    expect(id.verifier.verify(maced)).toBe(macSigner.address);
  });

  it('creates every stream with the configured byte and age caps (read back from JetStream), and no peer-records subject', async () => {
    const cfg = parseConfig(natsConfigSchema, 'T', {
      T_NATS_STREAM_MAX_BYTES: 'records=1048576,peer-out=2097152',
      T_NATS_STREAM_MAX_AGE_SECONDS: 'records=3600,blocks=600',
    });
    const limits = streamLimitsOf(cfg);
    const s = subjects('caps1');
    const jsm = await nc.jetstreamManager();
    await ensureStreams(jsm, s); // an older keeper: default caps
    await ensureStreams(jsm, s, limits); // updated in place
    const info = async (name: string) => (await jsm.streams.info(name)).config;
    const records = await info(s.streams.records);
    expect([records.max_bytes, records.max_age]).toEqual([1048576, 3600 * 1e9]);
    expect(records.subjects).toEqual([s.records]);
    const peerOut = await info(s.streams.peerOut);
    expect([peerOut.max_bytes, peerOut.max_age]).toEqual([
      2097152,
      DEFAULT_STREAM_LIMITS['peer-out'].maxAgeSeconds * 1e9,
    ]);
    const blocks = await info(s.streams.blocks);
    expect([blocks.max_bytes, blocks.max_age]).toEqual([DEFAULT_STREAM_LIMITS.blocks.maxBytes, 600 * 1e9]);
    for (const name of [s.streams.payments, s.streams.reorgs]) {
      const c = await info(name);
      expect(c.max_bytes).toBeGreaterThan(0);
      expect(c.max_age).toBeGreaterThan(0);
    }
    // nothing keeps `<ns>.peer-records` any more
    await expect(nc.jetstream().publish(`${s.ns}.peer-records`, enc.encode('x'))).rejects.toThrow();
    expect(Object.keys(DEFAULT_STREAM_LIMITS).sort()).toEqual([...STREAM_KINDS].sort());
    expect(() => parseConfig(natsConfigSchema, 'T', { T_NATS_STREAM_MAX_BYTES: 'peer-records=1' })).toThrow(
      ConfigError,
    );
    expect(() => parseConfig(natsConfigSchema, 'T', { T_NATS_STREAM_MAX_AGE_SECONDS: 'records=0' })).toThrow(
      ConfigError,
    );
  });

  it('resolves a bus identity: the dedicated key, else the account key; a key-less consumer needs the address', () => {
    const a = busSigner(KEY).address;
    const b = busSigner(OTHER).address;
    expect(busIdentityOf({}, { accountKey: KEY, prefix: 'X' }).verifier.signer).toBe(a);
    expect(busIdentityOf({ natsSigningKey: OTHER }, { accountKey: KEY, prefix: 'X' }).signer?.address).toBe(
      b,
    );
    const store = busIdentityOf({}, { fallbackSigner: a, prefix: 'X' });
    expect([store.signer, store.verifier.signer]).toEqual([undefined, a]);
    expect(busIdentityOf({ natsSigner: b }, { fallbackSigner: a, prefix: 'X' }).verifier.signer).toBe(b);
    expect(() => busIdentityOf({}, { prefix: 'X' })).toThrow(/X_NATS_SIGNER: unset/);
    expect(() => busIdentityOf({ natsSigner: b }, { accountKey: KEY, prefix: 'X' })).toThrow(ConfigError);
  });
});
