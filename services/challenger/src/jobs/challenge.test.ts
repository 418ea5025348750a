import { silentLogger } from '@whitepay/base';
import { recordDigest } from '@whitepay/challenge';
import { challengeV1 } from '@whitepay/proto';
import { describe, expect, it } from 'vitest';
import { ProviderClients } from '../grpc/providers.js';
import { MemoryPieceRegistry } from '../registry/memory.js';
import { addressOf, blockOf } from '../testing/harness.js';
import { runChallenge } from './challenge.js';

const user = addressOf(1);
const pid = addressOf(2);
const piece = {
  pieceId: `0x${'11'.repeat(32)}`,
  size: 4096n,
  root: `0x${'22'.repeat(32)}`,
  leafSize: 4096,
} as const;

describe('runChallenge without a reachable provider', () => {
  const deps = (providers: Record<string, string>, registry = new MemoryPieceRegistry()) => ({
    keeperId: 1,
    registry,
    providers: new ProviderClients(providers),
    deadlineMs: 300,
    leavesPerPiece: 2,
    log: silentLogger(),
    now: () => 1234,
  });

  it('an unknown provider address is an UNREACHABLE record with s = 0, digestible', async () => {
    const registry = new MemoryPieceRegistry();
    registry.add({ user, pid }, piece);
    const out = await runChallenge(deps({}, registry), { block: blockOf(3), user, pid });
    expect(out.verdict).toBe(challengeV1.Verdict.VERDICT_UNREACHABLE);
    expect(out.record).toMatchObject({ space: 0n, block: 3n, keeperId: 1, observedAtMs: 1234n });
    expect(out.record.pieces[0]).toMatchObject({ verified: false, reason: 'PROVIDER_ADDRESS_UNKNOWN' });
    expect(recordDigest(out.record)).toMatch(/^0x/);
  });

  it('a closed port is UNREACHABLE; a registry failure throws (the task is retried)', async () => {
    const registry = new MemoryPieceRegistry();
    registry.add({ user, pid }, piece);
    const d = deps({ [pid]: '127.0.0.1:1' }, registry);
    const out = await runChallenge(d, { block: blockOf(4), user, pid });
    expect(out.verdict).toBe(challengeV1.Verdict.VERDICT_UNREACHABLE);
    d.providers.close();
    registry.failing = true;
    await expect(runChallenge(d, { block: blockOf(4), user, pid })).rejects.toThrow('registry down');
  });
});
