import { silentLogger } from '@whitepay/base';
import { stV1 } from '@whitepay/proto';
import { listenGrpc, unary } from '@whitepay/rpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcStSource, ST_BATCH_MS_PER_ENTRY, ST_REPLY_RESERVE_MS, stCallDeadlineMs } from './st.js';

describe('stCallDeadlineMs', () => {
  const now = 5_000_000;
  it('is the configured deadline without a caller deadline, or when the caller leaves more', () => {
    expect(stCallDeadlineMs(5000, undefined, now)).toBe(5000);
    expect(stCallDeadlineMs(5000, new Date(now + 20_000), now)).toBe(5000);
  });
  it("is what the caller's deadline leaves after the reply reserve", () => {
    expect(stCallDeadlineMs(5000, new Date(now + 3000), now)).toBe(3000 - ST_REPLY_RESERVE_MS);
  });
  it('is null when that is nothing', () => {
    expect(stCallDeadlineMs(5000, new Date(now + ST_REPLY_RESERVE_MS), now)).toBeNull();
    expect(stCallDeadlineMs(5000, new Date(now - 1), now)).toBeNull();
  });
});

describe('GrpcStSource over gRPC: the caller deadline reaches the st-calculator', () => {
  const seen: { method: string; leftMs: number }[] = [];
  let stop: () => Promise<void>;
  let source: GrpcStSource;
  const user = `0x${'11'.repeat(20)}` as const;
  const entries = [{ pid: `0x${'22'.repeat(20)}` as const, ts: 1n, te: 9n }];

  beforeAll(async () => {
    const log = silentLogger();
    const left = (ctx: { deadline: Date | undefined }) =>
      ctx.deadline ? ctx.deadline.getTime() - Date.now() : -1;
    const handle = await listenGrpc(
      (server) =>
        server.addService(stV1.StCalculatorServiceService, {
          computeStBatch: unary<stV1.ComputeStBatchRequest, stV1.ComputeStBatchResponse>(
            'ComputeStBatch',
            { log },
            async (req, ctx) => {
              seen.push({ method: 'ComputeStBatch', leftMs: left(ctx) });
              return { results: req.entries.map(() => ({ st: '7', recordsUsed: 1 })), maxStaleness: 1n };
            },
          ),
          listVouches: unary<stV1.ListVouchesRequest, stV1.ListVouchesResponse>(
            'ListVouches',
            { log },
            async (req, ctx) => {
              seen.push({ method: 'ListVouches', leftMs: left(ctx) });
              return { entries: req.entries.map(() => ({ refs: [] })) };
            },
          ),
        } as unknown as stV1.StCalculatorServiceServer),
      '127.0.0.1',
      0,
    );
    stop = () => handle.stop();
    source = new GrpcStSource(`127.0.0.1:${handle.port}`, 5000);
  });
  afterAll(async () => {
    source?.close();
    await stop?.();
  });

  it('without a caller deadline each call gets the configured one', async () => {
    seen.length = 0;
    expect(await source.computeStBatch({ user, entries, includePeers: false })).toEqual([7n]);
    const configured = 5000 + ST_BATCH_MS_PER_ENTRY;
    expect(seen[0]!.leftMs).toBeGreaterThan(configured - 1000);
    expect(seen[0]!.leftMs).toBeLessThanOrEqual(configured);
  });

  it("a follower's calls end before the leader's deadline, less the reply reserve", async () => {
    seen.length = 0;
    const deadline = new Date(Date.now() + 1500);
    await source.computeStBatch({ user, entries, includePeers: false, deadline });
    await source.listVouches({ user, entries, keeperIds: [1, 2], deadline });
    expect(seen.map((s) => s.method)).toEqual(['ComputeStBatch', 'ListVouches']);
    for (const s of seen) {
      expect(s.leftMs).toBeGreaterThan(0);
      expect(s.leftMs).toBeLessThanOrEqual(1500 - ST_REPLY_RESERVE_MS);
    }
  });

  it('a deadline that leaves no time is refused before any call, typed', async () => {
    seen.length = 0;
    await expect(
      source.computeStBatch({ user, entries, includePeers: false, deadline: new Date(Date.now() + 100) }),
    ).rejects.toMatchObject({ code: 'COORD_DEADLINE_PASSED', kind: 'deadline_exceeded' });
    expect(seen).toEqual([]);
  });
});
