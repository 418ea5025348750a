import {
  type Group,
  openEnvelope,
  PeerError,
  type ReplayGuard,
  type SequenceClock,
  type Signer,
  sealEnvelope,
} from '@whitepay/peer';
import { type challengeV1, keeperV1 } from '@whitepay/proto';
import { call, channelCredentials, clientOptions, type TlsMaterial } from '@whitepay/rpc';
import type { Address } from 'viem';
import { CoordinatorError } from '../errors.js';
import type { Body } from './messages.js';

export interface PeerClientsOptions {
  signer: Signer;
  /** keeperId → host:port of its KeeperPeerService. */
  addresses: Readonly<Record<number, string>>;
  clock: SequenceClock;
  /** Guards the replies this keeper receives (one guard per process for replies). */
  replay: ReplayGuard;
  /** mTLS material; undefined only with an explicit PEER_PLAINTEXT (a local network). */
  tls: TlsMaterial | undefined;
}

/**
 * Outgoing keeper-to-keeper calls: every request is a `PeerMessage` sealed in
 * a `SignedEnvelope` with this keeper's account key; every reply is opened
 * against the group (it must come from the keeper that was called, signed,
 * not replayed). A peer's typed refusal arrives as a gRPC status and surfaces
 * as an `RpcError` with the peer's code.
 */
export class PeerClients {
  private readonly clients = new Map<
    number,
    { address: string; account: string; client: keeperV1.KeeperPeerServiceClient }
  >();

  constructor(private readonly o: PeerClientsOptions) {}

  /**
   * The channel to keeper `keeperId`, whose registered account is `account`:
   * over mTLS its certificate must name exactly that keeper and account
   * (`urn:whitepay:keeper:<id>:<account>`), whatever host the address names.
   */
  private client(keeperId: number, account: string): keeperV1.KeeperPeerServiceClient {
    const address = this.o.addresses[keeperId];
    if (!address) {
      throw new CoordinatorError('COORD_PEER_UNAVAILABLE', `no address configured for keeper ${keeperId}`);
    }
    const cached = this.clients.get(keeperId);
    if (cached?.address === address && cached.account === account.toLowerCase()) return cached.client;
    cached?.client.close();
    // A restarted peer must be reachable again within a round, not after
    // grpc-js's default reconnect backoff (up to 120 s).
    const client = new keeperV1.KeeperPeerServiceClient(
      address,
      channelCredentials(this.o.tls, { keeperId, account }),
      {
        ...clientOptions(),
        'grpc.initial_reconnect_backoff_ms': 250,
        'grpc.max_reconnect_backoff_ms': 2_000,
      },
    );
    this.clients.set(keeperId, { address, account: account.toLowerCase(), client });
    return client;
  }

  private clientIn(group: Group, keeperId: number): keeperV1.KeeperPeerServiceClient {
    const account = group.members.get(keeperId);
    if (!account)
      throw new CoordinatorError('COORD_PEER_UNAVAILABLE', `keeper ${keeperId} is not in the group`);
    return this.client(keeperId, account);
  }

  /** A request for keeper `to` alone. */
  private seal(upkeeping: Address, to: number, body: Body): Promise<keeperV1.SignedEnvelope> {
    return sealEnvelope(
      this.o.signer,
      { upkeeping, receiverId: to },
      { sequence: this.o.clock.next(), body },
    );
  }

  private async open(env: keeperV1.SignedEnvelope | undefined, group: Group, from: number): Promise<Body> {
    const opened = await openEnvelope(env, group, { self: this.o.signer.keeperId, replay: this.o.replay });
    if (opened.senderId !== from) {
      throw new PeerError('PEER_BAD_SIGNATURE', `reply signed by keeper ${opened.senderId}, called ${from}`);
    }
    return opened.message.body!;
  }

  /** One round message to `to`; resolves with its reply body (possibly a `PeerError` body). */
  async round(to: number, group: Group, body: Body, deadlineMs: number): Promise<Body> {
    const c = this.clientIn(group, to);
    const envelope = await this.seal(group.upkeeping, to, body);
    const res = await call(c, c.round, { envelope }, { deadlineMs, name: 'Round' });
    return this.open(res.envelope, group, to);
  }

  /**
   * A peer's own records of `[from, to)` (full sync, SPEC 6.4), page after page until its last: each
   * reply is one challenge-store page, bounded in bytes, so an interval of any length crosses under
   * the gRPC message limit. A peer holds at most one own record a block, so a reply that would pass
   * `to - from` records, or a page that is empty but not the last, is refused (`ROUND_MALFORMED`).
   */
  async pullRecords(
    to: number,
    group: Group,
    pull: Omit<keeperV1.RecordsPull, 'pageToken'>,
    deadlineMs: number,
  ): Promise<challengeV1.SignedRecord[]> {
    const c = this.clientIn(group, to);
    const out: challengeV1.SignedRecord[] = [];
    const most = pull.to - pull.from;
    let pageToken = '';
    do {
      const value: keeperV1.RecordsPull = { ...pull, pageToken };
      const envelope = await this.seal(group.upkeeping, to, { $case: 'recordsPull', value });
      const res = await call(c, c.pullRecords, { envelope }, { deadlineMs, name: 'PullRecords' });
      const body = await this.open(res.envelope, group, to);
      if (body.$case !== 'recordsReply') {
        throw new CoordinatorError('ROUND_UNEXPECTED_MESSAGE', `PullRecords answered ${body.$case}`);
      }
      const page = body.value;
      out.push(...page.records);
      if (BigInt(out.length) > most) {
        throw new CoordinatorError(
          'ROUND_MALFORMED',
          `keeper ${to} sent more records than blocks in the range`,
          { details: { records: out.length, blocks: String(most) } },
        );
      }
      if (page.nextPageToken !== '' && page.records.length === 0) {
        throw new CoordinatorError('ROUND_MALFORMED', `keeper ${to} sent an empty page that is not the last`);
      }
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    return out;
  }

  /** This keeper's own signed records to a peer (SPEC 3 step 4); resolves with what its challenge-store did. */
  async pushRecords(
    to: number,
    group: Group,
    records: challengeV1.SignedRecord[],
    deadlineMs: number,
  ): Promise<{ accepted: number; duplicates: number; rejected: number }> {
    const c = this.clientIn(group, to);
    const envelope = await this.seal(group.upkeeping, to, { $case: 'recordsPush', value: { records } });
    const res = await call(c, c.pushRecords, { envelope }, { deadlineMs, name: 'PushRecords' });
    const body = await this.open(res.envelope, group, to);
    if (body.$case !== 'recordsReply') {
      throw new CoordinatorError('ROUND_UNEXPECTED_MESSAGE', `PushRecords answered ${body.$case}`);
    }
    const { accepted, duplicates, rejected } = body.value;
    return { accepted, duplicates, rejected };
  }

  close(): void {
    for (const c of this.clients.values()) c.client.close();
    this.clients.clear();
  }
}
