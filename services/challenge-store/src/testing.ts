// Test and benchmark helpers (not used by the service itself).
import { type Logger, silentLogger } from '@whitepay/base';
import { challengeV1 } from '@whitepay/proto';
import { type Config, loadConfig } from './config.js';

export function testConfig(over: Record<string, string> = {}): Config {
  return loadConfig({
    CHALLENGE_STORE_KEEPER_ID: '1',
    CHALLENGE_STORE_DATABASE_URL: 'postgres://unused/unused',
    CHALLENGE_STORE_LAG_POLL_MS: '200',
    ...Object.fromEntries(Object.entries(over).map(([k, v]) => [`CHALLENGE_STORE_${k}`, v])),
  });
}

export function addressOf(i: number): Uint8Array {
  const a = new Uint8Array(20);
  new DataView(a.buffer).setUint32(16, i);
  a[0] = 0xaa;
  return a;
}

/** A record of account `acct` at `block`, with a proof of `proofBytes` leaf bytes. */
export function makeRecord(
  acct: number,
  block: bigint,
  opts: { keeperId?: number; proofBytes?: number } = {},
): challengeV1.ChallengeRecord {
  const user = addressOf(acct);
  const pid = addressOf(acct + 1_000_000);
  return {
    user,
    pid,
    keeperId: opts.keeperId ?? 1,
    block,
    blockHash: new Uint8Array(32).fill(Number(block % 256n)),
    space: 4096n * BigInt(acct + 1),
    verdict: challengeV1.Verdict.VERDICT_OK,
    proof: {
      seed: new Uint8Array(32).fill(7),
      leavesPerPiece: 1,
      leaves: [
        {
          pieceId: new Uint8Array(32).fill(acct % 256),
          leafIndex: block % 16n,
          leaf: new Uint8Array(opts.proofBytes ?? 128).fill(1),
          path: [new Uint8Array(32).fill(2), new Uint8Array(32).fill(3), new Uint8Array(32).fill(4)],
        },
      ],
    },
    observedAtMs: BigInt(Date.now()),
    pieces: [],
  };
}

export function encodeRecord(r: challengeV1.ChallengeRecord): Uint8Array {
  return challengeV1.ChallengeRecord.encode(r).finish();
}

export function hexAddr(a: Uint8Array): string {
  return `0x${Buffer.from(a).toString('hex')}`;
}

export const quiet: Logger = silentLogger();
