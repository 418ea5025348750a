import { silentLogger } from '@whitepay/base';
import {
  buildChallenge,
  buildRecord,
  deriveSeed,
  type RegisteredPiece,
  verifyChallenge,
} from '@whitepay/challenge';
import { GrpcRecordStore, PeerClients } from '@whitepay/consensus-coordinator/app';
import { type Group, MemorySeenSet, ReplayGuard, SequenceClock, sealEnvelope } from '@whitepay/peer';
import { challengeV1, keeperV1, providerV1 } from '@whitepay/proto';
import { call, channelCredentials, insecure, MAX_MESSAGE_BYTES, readTlsFiles } from '@whitepay/rpc';
import { closePool, createPool, insertChallengeRecords } from '@whitepay/store';
import { sharedGroupPki } from '@whitepay/testkit';
import { type Address, hexToBytes, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  anvilKey,
  type DeployedUpkeeping,
  deployUpkeeping,
  HARNESS_INTERNAL_TOKEN,
  type Infra,
  type KeeperHandle,
  keeperKeys,
  type ProviderHandle,
  startGroup,
  startInfra,
  startProviders,
  storedRecords,
} from '../harness/index.js';

/**
 * The full sync of SPEC 6.4 over a long interval (issue 20): 1,000 challenged blocks of a provider
 * whose pieces have 4 KiB leaves (records of ~26 KB, pieces registered before the 256-byte default),
 * ~26 MB in all — more than gRPC's message limit (`MAX_MESSAGE_BYTES`, 16 MiB), which one reply of
 * every record (before: a single `RecordsReply`) or one `PutPeerRecords` of every record cannot carry.
 * Keeper 2's real coordinator serves `PullRecords` page by page from its real challenge-store; this
 * process acts as keeper 1's coordinator with keeper 1's key and certificate and the coordinator's own
 * `PeerClients` and `GrpcRecordStore` (the two halves of its full sync), and keeper 1's challenge-store
 * re-verifies and stores every record.
 */
const BLOCKS = 1_000;
const LEAVES_PER_PIECE = 2;

describe('full sync over 1,000 blocks: PullRecords paged by bytes, PutPeerRecords chunked', () => {
  let infra: Infra;
  let chain: DeployedUpkeeping;
  let provider: ProviderHandle;
  const keepers: KeeperHandle[] = [];
  const userKey = anvilKey(0);
  const keys = [keeperKeys(1, anvilKey(1)), keeperKeys(2, anvilKey(2))];
  let from = 0n;

  beforeAll(async () => {
    infra = await startInfra();
    [provider] = (await startProviders(1, { env: { PROVIDER_DEFAULT_LEAF_SIZE: '4096' } })) as [
      ProviderHandle,
    ];
    chain = await deployUpkeeping({
      rpcUrl: infra.anvil.rpcUrl,
      chainId: infra.anvil.chainId,
      userKey,
      keepers: keys,
      providers: [provider.pid],
    });
    const pieces = await provider.put(chain.user, [1 << 20, 1 << 20, 1 << 20]);
    keepers.push(
      ...(await startGroup({
        infra: infra.endpoints,
        chain,
        keys,
        userKey,
        pieces: [{ pid: provider.pid, pieces, block: chain.providersAddedAt[provider.pid]! }],
        services: ['challenge-store', 'st-calculator', 'consensus-coordinator'],
      })),
    );
    // 1,000 real blocks, and keeper 2's own record of each: the provider's answer to the seed of that
    // block's hash, verified, stored as its challenge-store stores what its challenger verified.
    await chain.publicClient.request({ method: 'anvil_mine' as never, params: [toHex(BLOCKS + 1)] as never });
    from = chain.providersAddedAt[provider.pid]! + 1n;
    const regs: RegisteredPiece[] = pieces.map((p) => ({ ...p }));
    const client = new providerV1.ProviderServiceClient(provider.grpcAddress, insecure());
    const pool = createPool({ url: keepers[1]!.databaseUrl, log: silentLogger(), max: 2 });
    try {
      const rows = [];
      for (let b = from; b < from + BigInt(BLOCKS); b++) {
        const { hash } = await chain.publicClient.getBlock({ blockNumber: b });
        const seed = deriveSeed(hash!, 2, chain.user, provider.pid);
        const spec = { seed, leavesPerPiece: LEAVES_PER_PIECE };
        const res = await call(client, client.challenge, {
          user: hexToBytes(chain.user),
          pid: hexToBytes(provider.pid),
          keeperId: 2,
          block: b,
          seed: hexToBytes(seed),
          pieces: buildChallenge(regs, spec),
        });
        const v = verifyChallenge(regs, spec, res);
        const record = buildRecord({
          user: chain.user,
          pid: provider.pid,
          keeperId: 2,
          block: b,
          blockHash: hash!,
          seed,
          leavesPerPiece: LEAVES_PER_PIECE,
          leaves: res.leaves,
          verdict: challengeV1.Verdict.VERDICT_OK,
          space: v.space,
          pieces: v.pieces,
          observedAtMs: Date.now(),
        });
        rows.push({
          user: record.user,
          pid: record.pid,
          keeperId: 2,
          block: b,
          blockHash: record.blockHash,
          space: v.space,
          verdict: record.verdict,
          proof: challengeV1.ChallengeProof.encode(record.proof!).finish(),
          observedAtMs: Date.now(),
        });
      }
      expect((await insertChallengeRecords(pool, rows)).inserted).toBe(BLOCKS);
    } finally {
      client.close();
      await closePool(pool);
    }
  }, 240_000);

  afterAll(async () => {
    for (const k of keepers) await k.stop();
    await provider?.stop();
    await infra?.stop();
  });

  /** Keeper 1's identity towards keeper 2's coordinator: its account key and its certificate. */
  const asKeeper1 = async () => {
    const acc1 = privateKeyToAccount(keys[0]!.accountKey);
    const acc2 = privateKeyToAccount(keys[1]!.accountKey).address;
    const e = await (await sharedGroupPki()).env('X', 1, acc1.address);
    const tls = readTlsFiles({
      caFile: e.X_PEER_TLS_CA_FILE!,
      certFile: e.X_PEER_TLS_CERT_FILE!,
      keyFile: e.X_PEER_TLS_KEY_FILE!,
    });
    const group: Group = {
      upkeeping: chain.upkeeping,
      members: new Map<number, Address>([
        [1, acc1.address],
        [2, acc2],
      ]),
    };
    return { acc1, acc2, tls, group };
  };

  it("pulls all 1,000 of keeper 2's records in pages under the message limit; keeper 1's store verifies and keeps each", async () => {
    const { acc1, tls, group } = await asKeeper1();
    const peers = new PeerClients({
      signer: { keeperId: 1, account: acc1 },
      addresses: { 2: keepers[1]!.urls['consensus-coordinator']!.grpc! },
      clock: new SequenceClock(),
      replay: new ReplayGuard(new MemorySeenSet()),
      tls,
    });
    const store = new GrpcRecordStore(
      keepers[0]!.urls['challenge-store']!.grpc!,
      120_000,
      keys[0]!.accountKey,
      HARNESS_INTERNAL_TOKEN,
    );
    try {
      const to = from + BigInt(BLOCKS);
      const t0 = performance.now();
      const pulled = await peers.pullRecords(
        2,
        group,
        { user: hexToBytes(chain.user), pid: hexToBytes(provider.pid), from, to },
        30_000,
      );
      const pullMs = performance.now() - t0;
      expect(pulled).toHaveLength(BLOCKS);
      expect(pulled.map((r) => r.record!.block)).toEqual(
        Array.from({ length: BLOCKS }, (_, i) => from + BigInt(i)),
      );
      const bytes = pulled.reduce((n, r) => n + challengeV1.SignedRecord.encode(r).finish().length, 0);
      // More than one gRPC message may carry: only pages (and chunks, below) get it across.
      expect(bytes).toBeGreaterThan(MAX_MESSAGE_BYTES);
      const t1 = performance.now();
      const put = await store.putPeerRecords(pulled);
      const putMs = performance.now() - t1;
      expect(put).toEqual({ accepted: BLOCKS, duplicates: 0, rejected: 0 });
      const held = await storedRecords(keepers[0]!, chain.user, provider.pid, 'peer');
      expect(held.filter((r) => r.keeperId === 2)).toHaveLength(BLOCKS);
      // The same sync again is idempotent.
      expect(await store.putPeerRecords(pulled)).toEqual({ accepted: 0, duplicates: BLOCKS, rejected: 0 });
      console.log(
        `full sync of ${BLOCKS} blocks: ${pulled.length} records, ${(bytes / 1e6).toFixed(1)} MB; pull ${Math.round(pullMs)} ms, verify+store ${Math.round(putMs)} ms`,
      );
    } finally {
      peers.close();
      store.close();
    }
  }, 240_000);

  it('a page token keeper 2 never issued is refused as ROUND_MALFORMED, not taken for an outage', async () => {
    const { acc1, tls } = await asKeeper1();
    const target = { keeperId: 2, account: privateKeyToAccount(keys[1]!.accountKey).address };
    const client = new keeperV1.KeeperPeerServiceClient(
      keepers[1]!.urls['consensus-coordinator']!.grpc!,
      channelCredentials(tls, target),
    );
    try {
      const envelope = await sealEnvelope(
        { keeperId: 1, account: acc1 },
        { upkeeping: chain.upkeeping, receiverId: 2 },
        {
          sequence: new SequenceClock().next(),
          body: {
            $case: 'recordsPull',
            value: {
              user: hexToBytes(chain.user),
              pid: hexToBytes(provider.pid),
              from,
              to: from + 10n,
              pageToken: 'not-a-token',
            },
          },
        },
      );
      const code = await call(client, client.pullRecords, { envelope }, { deadlineMs: 10_000 }).then(
        () => 'accepted',
        (err: { code: string }) => err.code,
      );
      expect(code).toBe('ROUND_MALFORMED');
    } finally {
      client.close();
    }
  });
});
