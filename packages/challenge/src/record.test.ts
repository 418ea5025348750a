import { challengeV1 } from '@whitepay/proto';
import { keccak256, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { RecordError } from './errors.js';
import { buildRecord, recordDigest, recoverRecordSigner, signRecord, verifySignedRecord } from './record.js';

const base = () =>
  buildRecord({
    user: '0x1111111111111111111111111111111111111111',
    pid: '0x2222222222222222222222222222222222222222',
    keeperId: 3,
    block: 42n,
    blockHash: keccak256(toHex('b42')),
    seed: keccak256(toHex('seed')),
    leavesPerPiece: 2,
    leaves: [
      {
        pieceId: new Uint8Array(32).fill(1),
        leafIndex: 5n,
        leaf: new Uint8Array(64),
        path: [new Uint8Array(32)],
      },
    ],
    verdict: challengeV1.Verdict.VERDICT_OK,
    space: 4096n,
    observedAtMs: 1,
  });

describe('record digest and signatures', () => {
  it('covers every protocol field and the proof, not the wall clock', () => {
    const d = recordDigest(base());
    expect(recordDigest({ ...base(), observedAtMs: 99n })).toBe(d);
    expect(recordDigest({ ...base(), space: 4095n })).not.toBe(d);
    expect(recordDigest({ ...base(), block: 43n })).not.toBe(d);
    expect(recordDigest({ ...base(), keeperId: 4 })).not.toBe(d);
    expect(recordDigest({ ...base(), verdict: challengeV1.Verdict.VERDICT_PARTIAL })).not.toBe(d);
    const r = base();
    r.proof!.leaves[0]!.leaf[3] = 1;
    expect(recordDigest(r)).not.toBe(d);
    const r2 = base();
    r2.proof!.leaves[0]!.path[0]![0] = 1;
    expect(recordDigest(r2)).not.toBe(d);
    // the digest survives a protobuf round trip
    const bytes = challengeV1.ChallengeRecord.encode(base()).finish();
    expect(recordDigest(challengeV1.ChallengeRecord.decode(bytes))).toBe(d);
  });

  it('rejects records that cannot be digested', () => {
    expect(() => recordDigest({ ...base(), user: new Uint8Array(3) })).toThrow(RecordError);
    expect(() => recordDigest({ ...base(), blockHash: new Uint8Array(0) })).toThrow(RecordError);
  });

  it('signs with the keeper account and recovers it; tampering changes the signer', async () => {
    const key = generatePrivateKey();
    const addr = privateKeyToAccount(key).address;
    const signed = await signRecord(base(), key);
    expect(await recoverRecordSigner(signed)).toBe(addr);
    expect(await verifySignedRecord(signed, [addr])).toBe(addr);
    const tampered = { ...signed, record: { ...signed.record!, space: 1n << 40n } };
    expect(await recoverRecordSigner(tampered)).not.toBe(addr);
    await expect(verifySignedRecord(tampered, [addr])).rejects.toMatchObject({
      code: 'RECORD_SIGNATURE_INVALID',
    });
    await expect(recoverRecordSigner({ ...signed, signature: new Uint8Array(10) })).rejects.toBeInstanceOf(
      RecordError,
    );
  });
});
