import { describe, expect, it } from 'vitest';
import { challengeV1, keeperV1 } from './index.js';

describe('generated protobuf code', () => {
  it('round-trips a challenge record with 64-bit fields as bigint', () => {
    const rec = challengeV1.ChallengeRecord.fromPartial({
      user: new Uint8Array(20).fill(1),
      pid: new Uint8Array(20).fill(2),
      keeperId: 3,
      block: 2n ** 63n + 5n,
      space: 1n << 40n,
      verdict: challengeV1.Verdict.VERDICT_OK,
    });
    const bytes = challengeV1.ChallengeRecord.encode(rec).finish();
    const back = challengeV1.ChallengeRecord.decode(bytes);
    expect(back.block).toBe(2n ** 63n + 5n);
    expect(back.space).toBe(1n << 40n);
    expect(back.verdict).toBe(challengeV1.Verdict.VERDICT_OK);
  });
  it('rejects truncated input with an error instead of garbage', () => {
    const msg = keeperV1.PeerMessage.encode(
      keeperV1.PeerMessage.fromPartial({ sequence: 7n, body: { $case: 'ack', value: { ok: true } } }),
    ).finish();
    expect(() => keeperV1.PeerMessage.decode(msg.slice(0, msg.length - 1))).toThrow();
    expect(keeperV1.PeerMessage.decode(msg).body).toEqual({ $case: 'ack', value: { ok: true } });
  });
});
