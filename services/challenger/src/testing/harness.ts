import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistry, silentLogger } from '@whitepay/base';
import { busSigner, type Subjects } from '@whitepay/bus';
import type { BlockCheck } from '@whitepay/chain';
import type { RegisteredPiece } from '@whitepay/challenge';
import { challengeV1, providerV1 } from '@whitepay/proto';
import { createApp as createProvider, type ProviderApp } from '@whitepay/provider/app';
import { loadConfig as providerConfig } from '@whitepay/provider/config';
import { call, insecure } from '@whitepay/rpc';
import type { JetStreamClient, JetStreamManager } from 'nats';
import { bytesToHex, type Hex, hexToBytes, keccak256, toHex } from 'viem';
import type { Block } from '../nats/messages.js';

/** Test helpers: real provider nodes in-process, blocks, and reading streams back. */

export interface TestProvider {
  app: ProviderApp;
  address: string;
  /** Stores pieces of `user` (for `pid` only when given: a multi-tenant node). */
  put(user: string, sizes: number[], pid?: string): Promise<RegisteredPiece[]>;
  stop(): Promise<void>;
}

export async function startProvider(env: Record<string, string> = {}): Promise<TestProvider> {
  const dir = await mkdtemp(join(tmpdir(), 'provider-'));
  const app = await createProvider({
    config: providerConfig({
      PROVIDER_DATA_DIR: dir,
      PROVIDER_GRPC_HOST: '127.0.0.1',
      PROVIDER_GRPC_PORT: '0',
      PROVIDER_ADMIN_TOKEN: 'test-admin-token-0123456789',
      ...env,
    }),
    log: silentLogger(),
    registry: createRegistry('provider'),
  });
  await app.start();
  const client = new providerV1.ProviderServiceClient(app.grpcAddress(), insecure());
  let n = 0;
  return {
    app,
    address: app.grpcAddress(),
    async put(user, sizes, pid) {
      const out: RegisteredPiece[] = [];
      for (const size of sizes) {
        const seed = n++;
        const data = new Uint8Array(size).map((_, i) => (i * 7 + seed * 13) & 255);
        const res = await call(client, client.putPiece, {
          user: hexToBytes(user as `0x${string}`),
          pieceId: new Uint8Array(),
          data,
          leafSize: 0,
          ...(pid ? { pid: hexToBytes(pid as `0x${string}`) } : {}),
        });
        out.push({
          pieceId: bytesToHex(res.pieceId),
          size: res.size,
          root: bytesToHex(res.root),
          leafSize: res.leafSize,
        });
      }
      return out;
    },
    async stop() {
      client.close();
      await app.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function blockOf(n: number): Block {
  return {
    number: n,
    hash: keccak256(toHex(`block ${n}`)),
    parentHash: keccak256(toHex(`block ${n - 1}`)),
    timestamp: 1_700_000_000 + n * 12,
  };
}

const enc = new TextEncoder();

/**
 * Publishes a header on `<ns>.blocks` as the chain-submitter does: signed with the keeper's bus
 * key `key` (another key: a forgery; `null`: unsigned).
 */
export async function publishBlock(
  js: JetStreamClient,
  s: Subjects,
  n: number | Block,
  key: Hex | null,
): Promise<void> {
  const b = typeof n === 'number' ? blockOf(n) : n;
  const data = enc.encode(JSON.stringify(b));
  await js.publish(s.blocks, data, {
    msgID: `block:${b.number}:${b.hash}`,
    ...(key ? { headers: busSigner(key).headers(s.blocks, data) } : {}),
  });
}

export async function publishRaw(
  js: JetStreamClient,
  s: Subjects,
  data: string,
  key: Hex | null,
): Promise<void> {
  const bytes = enc.encode(data);
  await js.publish(s.blocks, bytes, key ? { headers: busSigner(key).headers(s.blocks, bytes) } : undefined);
}

/** A chain node whose block `n` is `blockOf(n)` for every `n <= head()` (the fake hashes of these tests). */
export function fakeNode(head: () => number = () => Number.MAX_SAFE_INTEGER): {
  check(number: bigint, hash: Hex): Promise<BlockCheck>;
} {
  return {
    async check(number, hash) {
      if (Number(number) > head()) return 'future';
      return blockOf(Number(number)).hash === hash.toLowerCase() ? 'canonical' : 'not_canonical';
    },
  };
}

/** Every message of a stream, in order. */
export async function readStream(
  jsm: JetStreamManager,
  stream: string,
): Promise<Array<{ subject: string; data: Uint8Array; msgID: string | undefined }>> {
  const info = await jsm.streams.info(stream);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined);
    if (m) out.push({ subject: m.subject, data: m.data, msgID: m.header?.get('Nats-Msg-Id') || undefined });
  }
  return out;
}

export async function readRecords(jsm: JetStreamManager, stream: string) {
  return (await readStream(jsm, stream))
    .filter((m) => m.subject.includes('.records.'))
    .map((m) => ({ ...m, record: challengeV1.ChallengeRecord.decode(m.data) }));
}

export const addressOf = (n: number): `0x${string}` => `0x${n.toString(16).padStart(40, '0')}`;
