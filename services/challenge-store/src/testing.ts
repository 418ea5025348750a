// Test and benchmark helpers (not used by the service itself).
import { type Logger, silentLogger } from '@whitepay/base';
import { busSigner, WindowedPublisher } from '@whitepay/bus';
import { challengeV1 } from '@whitepay/proto';
import type { JetStreamClient } from 'nats';
import { type Config, loadConfig } from './config.js';

/** The bus key of the test keeper (its challenger's); `testConfig` expects its signature. */
export const TEST_BUS_KEY = `0x${'5a'.repeat(32)}` as const;
export const TEST_BUS_SIGNER = busSigner(TEST_BUS_KEY);

/** Publishes records as the keeper's challenger does: bus-signed with `key` (default the test keeper's). */
export function signingPublisher(
  js: JetStreamClient,
  window = 256,
  key: `0x${string}` = TEST_BUS_KEY,
  opts: { macKey?: `0x${string}` | undefined } = {},
) {
  const pub = new WindowedPublisher(js, window);
  const signer = busSigner(key, opts);
  return {
    publish: (subject: string, data: Uint8Array, msgID?: string) =>
      pub.publish(subject, data, msgID, signer.headers(subject, data)),
    /** Without a signature (what an attacker on the bus can do). */
    publishUnsigned: (subject: string, data: Uint8Array, msgID?: string) => pub.publish(subject, data, msgID),
    flush: () => pub.flush(),
  };
}

export function testConfig(over: Record<string, string> = {}): Config {
  return loadConfig({
    CHALLENGE_STORE_KEEPER_ID: '1',
    CHALLENGE_STORE_NATS_SIGNER: TEST_BUS_SIGNER.address,
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
