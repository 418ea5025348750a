import { createRegistry, rejectedCounter, silentLogger, WhitePayError } from '@whitepay/base';
import { stV1 } from '@whitepay/proto';
import { afterAll, describe, expect, it } from 'vitest';
import { call, clientOptions, decodeTolerant, grpc, insecure, listenGrpc, RpcError, unary } from './index.js';

describe('gRPC plumbing', () => {
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const s of stops) await s();
  });

  it('maps typed errors to status and back, answers, and honours deadlines', async () => {
    const log = silentLogger();
    const handle = await listenGrpc(
      (server) =>
        server.addService(stV1.StCalculatorServiceService, {
          computeSt: unary<stV1.ComputeStRequest, stV1.ComputeStResponse>(
            'ComputeSt',
            { log },
            async (req) => {
              if (req.te < req.ts) {
                throw new WhitePayError('ST_INTERVAL_INVALID', 'te before ts', { kind: 'invalid_argument' });
              }
              if (req.te === 999n) await new Promise((r) => setTimeout(r, 500));
              if (req.te === 666n) throw new Error('boom');
              return {
                st: String((req.te - req.ts) * 10n),
                recordsUsed: 1,
                carryBlock: undefined,
                maxStaleness: 1n,
              };
            },
          ),
        }),
      '127.0.0.1',
      0,
    );
    stops.push(() => handle.stop());
    const client = new stV1.StCalculatorServiceClient(`127.0.0.1:${handle.port}`, insecure());
    stops.push(async () => client.close());
    const ok = await call(client, client.computeSt, {
      account: undefined,
      ts: 10n,
      te: 20n,
      includePeers: false,
    });
    expect(ok.st).toBe('100');
    const bad = await call(client, client.computeSt, {
      account: undefined,
      ts: 20n,
      te: 10n,
      includePeers: false,
    }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(RpcError);
    expect(bad).toMatchObject({ code: 'ST_INTERVAL_INVALID', kind: 'invalid_argument' });
    const internal = await call(client, client.computeSt, {
      account: undefined,
      ts: 1n,
      te: 666n,
      includePeers: false,
    }).catch((e: unknown) => e);
    expect(internal).toMatchObject({ code: 'INTERNAL', kind: 'internal' });
    expect((internal as Error).message).not.toContain('boom');
    const slow = await call(
      client,
      client.computeSt,
      { account: undefined, ts: 1n, te: 999n, includePeers: false },
      { deadlineMs: 50 },
    ).catch((e: unknown) => e);
    expect(slow).toMatchObject({ kind: 'deadline_exceeded' });
  });

  it('a request that does not decode is RPC_MALFORMED_REQUEST, counted, and the server serves on', async () => {
    const registry = createRegistry('test');
    const rejected = rejectedCounter(registry);
    const handle = await listenGrpc(
      (server) =>
        server.addService(decodeTolerant(stV1.StCalculatorServiceService), {
          computeSt: unary<stV1.ComputeStRequest, stV1.ComputeStResponse>(
            'ComputeSt',
            { log: silentLogger(), rejected },
            async () => ({ st: '7', recordsUsed: 0, carryBlock: undefined, maxStaleness: 0n }),
          ),
        }),
      '127.0.0.1',
      0,
    );
    stops.push(() => handle.stop());
    const raw = new grpc.Client(`127.0.0.1:${handle.port}`, insecure());
    stops.push(async () => raw.close());
    // Field 1 (account) as a length-delimited field claiming 100 bytes that are not there.
    const garbage = Buffer.from([0x0a, 0x64, 0x01]);
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      raw.makeUnaryRequest(
        stV1.StCalculatorServiceService.computeSt.path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        garbage,
        (e) => resolve(e!),
      ),
    );
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.metadata.get('whitepay-code')).toEqual(['RPC_MALFORMED_REQUEST']);
    const counted = (await registry.getSingleMetric('whitepay_rejected_messages_total')!.get()).values;
    expect(counted).toEqual([
      { value: 1, labels: { boundary: 'grpc:ComputeSt', reason: 'RPC_MALFORMED_REQUEST' } },
    ]);
    const client = new stV1.StCalculatorServiceClient(`127.0.0.1:${handle.port}`, insecure());
    stops.push(async () => client.close());
    expect(
      (await call(client, client.computeSt, { account: undefined, ts: 1n, te: 2n, includePeers: false })).st,
    ).toBe('7');
  });

  it('requires the internal token of the release when the server has one', async () => {
    const log = silentLogger();
    const handle = await listenGrpc(
      (server) =>
        server.addService(stV1.StCalculatorServiceService, {
          computeSt: unary<stV1.ComputeStRequest, stV1.ComputeStResponse>(
            'ComputeSt',
            { log, token: 'internal-token-of-the-release' },
            async () => ({ st: '7', recordsUsed: 0, carryBlock: undefined, maxStaleness: 0n }),
          ),
        }),
      '127.0.0.1',
      0,
    );
    stops.push(() => handle.stop());
    const req = { account: undefined, ts: 1n, te: 2n, includePeers: false };
    const anonymous = new stV1.StCalculatorServiceClient(
      `127.0.0.1:${handle.port}`,
      insecure(),
      clientOptions(),
    );
    const wrong = new stV1.StCalculatorServiceClient(
      `127.0.0.1:${handle.port}`,
      insecure(),
      clientOptions({ token: 'another-token-entirely' }),
    );
    const right = new stV1.StCalculatorServiceClient(
      `127.0.0.1:${handle.port}`,
      insecure(),
      clientOptions({ token: 'internal-token-of-the-release' }),
    );
    stops.push(async () => {
      anonymous.close();
      wrong.close();
      right.close();
    });
    await expect(call(anonymous, anonymous.computeSt, req)).rejects.toMatchObject({
      code: 'RPC_UNAUTHENTICATED',
      kind: 'unauthenticated',
    });
    await expect(call(wrong, wrong.computeSt, req)).rejects.toMatchObject({ code: 'RPC_UNAUTHENTICATED' });
    expect((await call(right, right.computeSt, req)).st).toBe('7');
  });
});
