import { createLogger, createRegistry, silentLogger } from '@whitepay/base';
import { connectBus, ensureStreams, subjects } from '@whitepay/bus';
import { signRecord } from '@whitepay/challenge';
import { MemorySeenSet, ReplayGuard, SequenceClock, type Signer } from '@whitepay/peer';
import { challengeV1, keeperV1 } from '@whitepay/proto';
import { decodeTolerant, type GrpcServerHandle, listenGrpc } from '@whitepay/rpc';
import { type NatsServer, startNats, waitFor } from '@whitepay/testkit';
import type { NatsConnection } from 'nats';
import { type Address, getAddress, hexToBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainView, UpkeepingView } from '../chain/view.js';
import { createMetrics } from '../metrics.js';
import type { RecordStore } from '../records.js';
import type { Follower } from '../round/driver.js';
import { PeerClients } from './client.js';
import { pushDeadlineMs, RecordForwarder } from './forwarder.js';
import { peerService } from './server.js';

// The record broadcast against a real nats-server JetStream (the <NS>_PEER_OUT stream and the
// forwarder's durable consumer) and two real KeeperPeerService servers over gRPC (the coordinator's
// own `peerService`: envelopes sealed, opened, replay-guarded). Behind each server, instead of a
// challenge-store, an in-memory record store; keeper 2's takes longer than any push deadline for its
// first three calls (an overloaded challenge-store), keeper 3's answers at once. The chain is a
// fixed view (one Upkeeping, keepers 1–3) whose head the test moves.

const N = 300;
const SLOW_CALLS = 3;
const SLOW_MS = 3_000;
const UPKEEPING = getAddress('0x00000000000000000000000000000000000000aa');
const USER = getAddress('0x00000000000000000000000000000000000000bb');
const PID = getAddress('0x00000000000000000000000000000000000000cc');

/** A challenge-store as PutPeerRecords sees it: keyed by (keeper, block), with an optional delay per call. */
class MemoryRecords implements RecordStore {
  readonly stored = new Set<string>();
  calls = 0;
  received = 0;
  duplicates = 0;
  constructor(private readonly delayOf: (call: number) => number) {}
  async putPeerRecords(records: challengeV1.SignedRecord[]) {
    const delay = this.delayOf(++this.calls);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    let accepted = 0;
    for (const s of records) {
      const key = `${s.record!.keeperId}:${s.record!.block}`;
      this.received++;
      if (this.stored.has(key)) this.duplicates++;
      else {
        this.stored.add(key);
        accepted++;
      }
    }
    return { accepted, duplicates: records.length - accepted, rejected: 0 };
  }
  async ownSignedPage() {
    return { records: [], nextPageToken: '' };
  }
  async ready() {}
  close() {}
}

describe('record forwarder against a slow peer (real JetStream, real peer gRPC servers)', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  const servers: GrpcServerHandle[] = [];
  beforeAll(async () => {
    nats = await startNats();
    nc = await connectBus({ url: nats.url, name: 'forwarder-test', log: silentLogger() });
  });
  afterAll(async () => {
    for (const s of servers) await s.stop(100).catch(() => undefined);
    await nc?.close();
    await nats?.stop();
  });

  it('shrinks the slow peer`s batches and holds it back: pushes stay bounded, every record arrives, the lag rises and returns to 0', async () => {
    const keys = new Map([1, 2, 3].map((id) => [id, generatePrivateKey()]));
    const signers = new Map<number, Signer>(
      [...keys].map(([keeperId, k]) => [keeperId, { keeperId, account: privateKeyToAccount(k) }]),
    );
    let head = BigInt(N + 10);
    const view = {
      upkeeping: UPKEEPING,
      user: USER,
      block: head,
      H: 12n,
      T: 8n,
      threshold: 2,
      members: [...signers.values()].map((s) => ({
        keeperId: s.keeperId,
        account: s.account.address,
        publicKey: new Uint8Array(48),
      })),
      group: '0x',
      providers: [],
    } as unknown as UpkeepingView;
    const group = {
      upkeeping: UPKEEPING,
      members: new Map<number, Address>([...signers].map(([id, s]) => [id, s.account.address])),
    };
    const chain = {
      served: async () => [view],
      headBlock: async () => head,
      peerGroup: async () => ({ group, view }),
    } as unknown as ChainView;

    // keeper 2: its first calls outlast every deadline; keeper 3: immediate
    const stores = new Map<number, MemoryRecords>([
      [2, new MemoryRecords((call) => (call <= SLOW_CALLS ? SLOW_MS : 0))],
      [3, new MemoryRecords(() => 0)],
    ]);
    const addresses: Record<number, string> = {};
    for (const [id, records] of stores) {
      const server = await listenGrpc(
        (s) =>
          s.addService(
            decodeTolerant(keeperV1.KeeperPeerServiceService),
            peerService({
              signer: signers.get(id)!,
              clock: new SequenceClock(),
              replay: new ReplayGuard(new MemorySeenSet()),
              chain,
              follower: {} as Follower,
              records,
              log: silentLogger(),
              rejected: createMetrics(createRegistry('peer')).rejected,
              requireIdentity: false,
              recordBlocks: { blocks: { check: async () => 'canonical' }, head: async () => head },
            }),
          ),
        '127.0.0.1',
        0,
      );
      servers.push(server);
      addresses[id] = `127.0.0.1:${server.port}`;
    }

    const ns = 'fwd1';
    const s = subjects(ns);
    await ensureStreams(await nc.jetstreamManager(), s);
    const js = nc.jetstream();
    for (let b = 1; b <= N; b++) {
      const record: challengeV1.ChallengeRecord = {
        user: hexToBytes(USER),
        pid: hexToBytes(PID),
        keeperId: 1,
        block: BigInt(b),
        blockHash: new Uint8Array(32).fill(b % 256),
        space: 4096n,
        verdict: challengeV1.Verdict.VERDICT_OK,
        proof: {
          seed: new Uint8Array(32).fill(7),
          leavesPerPiece: 1,
          leaves: [
            {
              pieceId: new Uint8Array(32),
              leafIndex: 0n,
              leaf: new Uint8Array(512),
              path: [new Uint8Array(32)],
            },
          ],
        },
        observedAtMs: BigInt(Date.now()),
        pieces: [],
      };
      const signed = await signRecord(record, keys.get(1)!);
      await js.publish(s.peerOut, challengeV1.SignedRecord.encode(signed).finish(), { msgID: `r${b}` });
    }

    const registry = createRegistry('coordinator');
    const metrics = createMetrics(registry);
    const opts = {
      deadlineMs: 1_000,
      deadlinePerRecordMs: 4,
      batchMax: 64,
      batchMaxBytes: 32 * 1024,
      flushMs: 1_000,
      backoffMs: 200,
      backoffMaxMs: 2_000,
      maxDeliver: 100,
      ackWaitMs: 10_000,
      lagMaxBlocks: 50,
      lagPollMs: 50,
    };
    // a full batch's push to keeper 2 is well past its deadline while it is slow
    expect(pushDeadlineMs(opts.batchMax, opts)).toBeLessThan(SLOW_MS);
    const peers = new PeerClients({
      signer: signers.get(1)!,
      addresses,
      clock: new SequenceClock(),
      replay: new ReplayGuard(new MemorySeenSet()),
      tls: undefined,
    });
    const lines: Array<{ level: string; msg: string; peer?: number }> = [];
    const forwarder = new RecordForwarder({
      nc,
      ns,
      keeperId: 1,
      chain,
      peers,
      ...opts,
      metrics,
      log: createLogger(
        { service: 'consensus-coordinator', level: 'info' },
        { write: (line: string) => void lines.push(JSON.parse(line)) },
      ),
    });
    const lagOf = async (peer: number) =>
      (await metrics.broadcastLag.get()).values.find((v) => v.labels.peer === String(peer))?.value ?? 0;
    const windowOf = async (peer: number) =>
      (await metrics.pushWindow.get()).values.find((v) => v.labels.peer === String(peer))?.value ?? 0;
    let maxLag = 0;
    let minWindow = opts.batchMax;
    let reportedBehind = '';
    const sampler = setInterval(() => {
      void lagOf(2).then((l) => {
        maxLag = Math.max(maxLag, l);
      });
      void windowOf(2).then((w) => {
        if (w > 0) minWindow = Math.min(minWindow, w);
      });
      forwarder.checkLag().catch((err: Error) => {
        reportedBehind = err.message;
      });
    }, 25);
    forwarder.start();
    try {
      await waitFor(
        'every record stored by both peers',
        async () => stores.get(2)!.stored.size === N && stores.get(3)!.stored.size === N,
        60_000,
        50,
      );
      head += 5n;
      await waitFor(
        'lag back to 0 and the consumer drained',
        async () => {
          await forwarder.refreshGauges();
          const pending = (await metrics.peerOutPending.get()).values;
          return (
            (await lagOf(2)) === 0 &&
            (await lagOf(3)) === 0 &&
            pending.length === 2 &&
            pending.every((v) => v.value === 0)
          );
        },
        30_000,
        50,
      );
    } finally {
      clearInterval(sampler);
      await forwarder.stop();
      peers.close();
    }

    const pushes = async (peer: number, outcome: string) =>
      (await metrics.pushes.get()).values.find(
        (v) => v.labels.peer === String(peer) && v.labels.outcome === outcome,
      )?.value ?? 0;
    const slow = stores.get(2)!;
    const fast = stores.get(3)!;
    // Exactly the slow calls passed their deadlines: after each, keeper 2 got nothing until its hold ended.
    expect(await pushes(2, 'deadline_exceeded')).toBe(SLOW_CALLS);
    expect(await pushes(2, 'unavailable')).toBe(0);
    // No resend storm: only the records of the three late pushes (halved each time: 64, 32, 16) came
    // again, each once; every other record reached keeper 2 once.
    expect(slow.duplicates).toBeLessThanOrEqual(64 + 32 + 16);
    expect(slow.received).toBe(N + slow.duplicates);
    // The pushes it got: bounded by the records over its smallest window (8, after three halvings) plus the late ones.
    const toSlow = (await pushes(2, 'answered')) + SLOW_CALLS;
    expect(slow.calls).toBe(toSlow);
    expect(toSlow).toBeLessThanOrEqual(SLOW_CALLS + Math.ceil(N / 8));
    // The fast peer was not held back by the slow one, nor sent anything twice.
    expect(fast.duplicates).toBe(0);
    expect(fast.received).toBe(N);
    expect(await pushes(3, 'deadline_exceeded')).toBe(0);
    // Keeper 2's window: halved to 8 by the three late pushes, grown back once it answered again.
    expect(minWindow).toBe(8);
    expect(await windowOf(2)).toBeGreaterThan(8);
    expect(await windowOf(3)).toBe(opts.batchMax);
    // Logged once per change of state: one warn when keeper 2 turned late, one info when it recovered.
    const about = (peer: number) => lines.filter((l) => l.peer === peer).map((l) => [l.level, l.msg]);
    expect(about(2)).toEqual([
      [
        'warn',
        'peer did not answer PushRecords within its deadline: its batches shrink and its records are redelivered later',
      ],
      ['info', 'peer takes records again'],
    ]);
    expect(about(3)).toEqual([]);
    // The lag: keeper 2's oldest record (block 1) stayed unanswered while head was N + 10.
    expect(maxLag).toBeGreaterThan(opts.lagMaxBlocks);
    expect(reportedBehind).toMatch(/record broadcast behind: peer 2 \d+ blocks \(max 50\)/);
    await expect(forwarder.checkLag()).resolves.toBeUndefined();
    // Every record answered once by each peer: accepted, or a duplicate when a late push had stored it.
    const forwarded = async (outcome: string) =>
      (await metrics.forwarded.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
    expect((await forwarded('accepted')) + (await forwarded('duplicate'))).toBe(2 * N);
    expect(await forwarded('given_up')).toBe(0);
  }, 120_000);
});
