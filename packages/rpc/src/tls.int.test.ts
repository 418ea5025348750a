import { createRegistry, rejectedCounter, silentLogger } from '@whitepay/base';
import { stV1 } from '@whitepay/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CallSecurity,
  call,
  channelCredentials,
  type GrpcServerHandle,
  identityOfCertificate,
  listenGrpc,
  parseKeeperUri,
  serverCredentials,
  type TlsMaterial,
  unary,
} from './index.js';
import { createCa, type IssuedPem, issueKeeperCertificate } from './pki.js';

const ACCOUNT_1 = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';
const ACCOUNT_2 = '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc';

const material = (ca: IssuedPem | IssuedPem[], own: IssuedPem): TlsMaterial => ({
  ca: Buffer.from((Array.isArray(ca) ? ca : [ca]).map((c) => c.cert).join('\n')),
  cert: Buffer.from(own.cert),
  key: Buffer.from(own.key),
});

describe('keeper URIs', () => {
  it('parse exactly one keeper id and lower-case account', () => {
    expect(parseKeeperUri(`urn:whitepay:keeper:7:${ACCOUNT_1}`)).toEqual({ keeperId: 7, account: ACCOUNT_1 });
    expect(
      parseKeeperUri(`urn:whitepay:keeper:7:${ACCOUNT_1.toUpperCase().replace('0X', '0x')}`),
    ).toBeUndefined();
    expect(parseKeeperUri('urn:whitepay:keeper:x:0x00')).toBeUndefined();
    expect(parseKeeperUri(`urn:whitepay:keeper:99999999999:${ACCOUNT_1}`)).toBeUndefined();
    expect(parseKeeperUri('https://example.com')).toBeUndefined();
    expect(
      identityOfCertificate({ subjectaltname: `DNS:k1, URI:urn:whitepay:keeper:1:${ACCOUNT_1}` }),
    ).toEqual({
      keeperId: 1,
      account: ACCOUNT_1,
    });
    // Two different keeper URIs in one certificate name no keeper.
    expect(
      identityOfCertificate({
        subjectaltname: `URI:urn:whitepay:keeper:1:${ACCOUNT_1}, URI:urn:whitepay:keeper:2:${ACCOUNT_2}`,
      }),
    ).toBeUndefined();
    expect(identityOfCertificate({ subjectaltname: 'DNS:k1' })).toBeUndefined();
  });
});

describe('mutual TLS between keepers (real gRPC over loopback)', () => {
  let caA: IssuedPem;
  let caB: IssuedPem;
  let rogueCa: IssuedPem;
  let k1: IssuedPem;
  let k2: IssuedPem;
  let rogue: IssuedPem;
  let server: GrpcServerHandle;
  let seen: CallSecurity | undefined;
  const registry = createRegistry('test');
  const rejected = rejectedCounter(registry);
  const refusals = async () =>
    (await registry.getSingleMetric('whitepay_rejected_messages_total')!.get()).values
      .filter((v) => v.labels.reason === 'RPC_CERTIFICATE_REQUIRED')
      .reduce((a, v) => a + v.value, 0);
  const clients: Array<{ close(): void }> = [];

  beforeAll(async () => {
    // Two organisations, each with its own CA; the bundle trusts both.
    [caA, caB, rogueCa] = await Promise.all([createCa('org A'), createCa('org B'), createCa('rogue')]);
    k1 = await issueKeeperCertificate(caA, { keeperId: 1, account: ACCOUNT_1 }, { dnsNames: ['localhost'] });
    k2 = await issueKeeperCertificate(caB, { keeperId: 2, account: ACCOUNT_2 });
    rogue = await issueKeeperCertificate(rogueCa, { keeperId: 2, account: ACCOUNT_2 });
    server = await listenGrpc(
      (s) =>
        s.addService(stV1.StCalculatorServiceService, {
          computeSt: unary<stV1.ComputeStRequest, stV1.ComputeStResponse>(
            'ComputeSt',
            { log: silentLogger(), rejected, requireCertificate: true },
            async (_req, ctx) => {
              seen = ctx.security;
              return { st: '1', recordsUsed: 0, carryBlock: undefined, maxStaleness: 0n };
            },
          ),
        }),
      '127.0.0.1',
      0,
      {},
      serverCredentials(material([caA, caB], k1)),
    );
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  const ask = (creds: ReturnType<typeof channelCredentials>) => {
    const client = new stV1.StCalculatorServiceClient(`127.0.0.1:${server.port}`, creds);
    clients.push(client);
    return call(
      client,
      client.computeSt,
      { account: undefined, ts: 1n, te: 2n, includePeers: false },
      { deadlineMs: 3_000 },
    );
  };

  it('a peer with a certificate of a trusted organisation is served and its keeper identity is known', async () => {
    seen = undefined;
    const res = await ask(channelCredentials(material([caA, caB], k2), { keeperId: 1, account: ACCOUNT_1 }));
    expect(res.st).toBe('1');
    expect(seen).toEqual({ transport: 'ssl', identity: { keeperId: 2, account: ACCOUNT_2 } });
  });

  it('a client certificate from an untrusted CA is refused, typed and counted', async () => {
    const before = await refusals();
    seen = undefined;
    const err = await ask(channelCredentials(material([caA, caB], rogue), { keeperId: 1 })).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'RPC_CERTIFICATE_REQUIRED', kind: 'unauthenticated' });
    expect(seen).toBeUndefined(); // the handler never ran
    expect(await refusals()).toBe(before + 1);
  });

  it('a client without a certificate is refused, typed and counted; plaintext is not spoken', async () => {
    const grpc = await import('@grpc/grpc-js');
    const before = await refusals();
    // Trusts the server (its certificate names 'localhost', not the address dialled), presents none.
    const noCert = await ask(
      grpc.credentials.createSsl(Buffer.from(caA.cert), null, null, { checkServerIdentity: () => undefined }),
    ).catch((e: unknown) => e);
    expect(noCert).toMatchObject({ code: 'RPC_CERTIFICATE_REQUIRED', kind: 'unauthenticated' });
    expect(await refusals()).toBe(before + 1);
    const plain = await ask(channelCredentials(undefined)).catch((e: unknown) => e);
    expect(plain).toMatchObject({ kind: 'unavailable' });
  });

  it('a server whose certificate names another keeper than the one dialled is refused by the client', async () => {
    const wrongId = await ask(channelCredentials(material([caA, caB], k2), { keeperId: 3 })).catch(
      (e: unknown) => e,
    );
    expect(wrongId).toMatchObject({ kind: 'unavailable' });
    expect(String((wrongId as Error).message)).toMatch(/keeper 1's, not keeper 3's|certificate/);
    const wrongAccount = await ask(
      channelCredentials(material([caA, caB], k2), { keeperId: 1, account: ACCOUNT_2 }),
    ).catch((e: unknown) => e);
    expect(wrongAccount).toMatchObject({ kind: 'unavailable' });
  });

  it('a client that trusts only another CA refuses the server', async () => {
    const err = await ask(channelCredentials(material(rogueCa, rogue), { keeperId: 1 })).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ kind: 'unavailable' });
  });
});
