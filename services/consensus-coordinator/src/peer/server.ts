import type { Counter, Logger } from '@whitepay/base';
import {
  type Opened,
  openEnvelope,
  PeerError,
  type ReplayGuard,
  type SequenceClock,
  type Signer,
  sealEnvelope,
} from '@whitepay/peer';
import type { keeperV1 } from '@whitepay/proto';
import { type CallSecurity, type grpc, type UnaryContext, unary } from '@whitepay/rpc';
import { bytesToHex, getAddress, isAddress } from 'viem';
import type { ChainView, UpkeepingView } from '../chain/view.js';
import { CoordinatorError } from '../errors.js';
import type { RecordStore } from '../records.js';
import type { Follower } from '../round/driver.js';
import {
  type Body,
  bodyToLeaderMessage,
  commitReplyToBody,
  revealToBody,
  syncReplyToBody,
} from './messages.js';
import { canonicalRecords, type RecordBlockDeps } from './record-blocks.js';

export interface PeerServerDeps {
  signer: Signer;
  clock: SequenceClock;
  /** Guards requests from peers (one per process). */
  replay: ReplayGuard;
  chain: ChainView;
  /** Answers every round (a list of k >= 1 entries). */
  follower: Follower;
  /** Where pushed peer records go (the challenge-store); null refuses pushes. */
  records: RecordStore | null;
  log: Logger;
  rejected: Counter<'boundary' | 'reason'>;
  /**
   * Peers must come over mTLS with a certificate naming the keeper that signs
   * the envelope and its registered account (false only with PEER_PLAINTEXT).
   */
  requireIdentity: boolean;
  /** Block hashes of pushed records, checked against this keeper's own node. */
  recordBlocks: RecordBlockDeps;
}

/** Opens an incoming envelope against the group it names; a sender missing from a cached group triggers one fresh read. */
async function openFrom(
  d: PeerServerDeps,
  env: keeperV1.SignedEnvelope | undefined,
  ctx: UnaryContext,
): Promise<{ opened: Opened; view: UpkeepingView }> {
  if (!env) throw new PeerError('PEER_MALFORMED', 'missing envelope');
  const upkeeping = bytesToHex(env.upkeeping);
  if (env.upkeeping.length !== 20 || !isAddress(upkeeping)) {
    throw new PeerError('PEER_MALFORMED', 'upkeeping must be 20 bytes');
  }
  let { group, view } = await d.chain.peerGroup(getAddress(upkeeping));
  if (!group.members.has(env.senderId))
    ({ group, view } = await d.chain.peerGroup(getAddress(upkeeping), true));
  // The transport identity first: an envelope carried by the wrong keeper is refused before the
  // replay guard sees it, so it cannot spend the sequence of the keeper it names.
  const account = group.members.get(env.senderId);
  if (d.requireIdentity && account !== undefined)
    checkIdentity(d, ctx.security, env.senderId, account, ctx.peer);
  const opened = await openEnvelope(env, group, { self: d.signer.keeperId, replay: d.replay });
  return { opened, view };
}

/**
 * The transport identity must be the envelope's: a keeper whose certificate
 * names another keeper (or another account than the one registered on chain)
 * cannot take part, even with a certificate of a trusted CA.
 */
function checkIdentity(
  d: PeerServerDeps,
  sec: CallSecurity,
  senderId: number,
  account: string,
  peer: string,
): void {
  const id = sec.identity;
  const ok =
    sec.transport === 'ssl' &&
    id !== undefined &&
    id.keeperId === senderId &&
    id.account === account.toLowerCase();
  if (ok) return;
  const details = {
    senderId,
    registered: account,
    certificate: id ? `${id.keeperId}:${id.account}` : null,
    transport: sec.transport,
    peer,
  };
  d.log.warn(details, 'peer refused: its certificate is not the identity of the keeper it signs as');
  throw new CoordinatorError(
    'PEER_IDENTITY_MISMATCH',
    id
      ? `the client certificate names keeper ${id.keeperId} (${id.account}); the envelope is keeper ${senderId}'s (${account})`
      : 'the call carries no keeper certificate',
    { details },
  );
}

/**
 * The follower's gRPC server (`KeeperPeerService`). Each handler opens the
 * envelope (shape, group, member, signature, replay — `@whitepay/peer`),
 * decodes the round message, lets the `Follower` answer and seals the answer.
 * Any refusal is a typed error (`PEER_*`, `ROUND_*`) answered as a gRPC status
 * with the code in the `whitepay-code` trailer, and counted in
 * `whitepay_rejected_messages_total{boundary="grpc:<method>", reason=<code>}`;
 * nothing a peer sends can crash the service.
 */
export function peerService(d: PeerServerDeps): keeperV1.KeeperPeerServiceServer {
  const h = {
    log: d.log.child({ component: 'peer-server' }),
    rejected: d.rejected,
    requireCertificate: d.requireIdentity,
  };
  /** The reply to `opened`'s sender, for it alone. */
  const seal = async (upkeeping: `0x${string}`, to: Opened, body: Body) => ({
    envelope: await sealEnvelope(
      d.signer,
      { upkeeping, receiverId: to.senderId },
      { sequence: d.clock.next(), body },
    ),
  });

  return {
    round: unary<keeperV1.RoundRequest, keeperV1.RoundResponse>('Round', h, async (req, ctx) => {
      const { opened, view } = await openFrom(d, req.envelope, ctx);
      const decoded = bodyToLeaderMessage(opened.message.body);
      const { info } = decoded;
      if (info.upkeeping.toLowerCase() !== view.upkeeping.toLowerCase()) {
        throw new CoordinatorError('ROUND_MISMATCH', 'the round names another Upkeeping than its envelope');
      }
      const from = opened.senderId;
      switch (decoded.msg.kind) {
        case 'commit_request': {
          const includePeers = 'includePeers' in decoded && decoded.includePeers;
          // The leader's deadline for this attempt: past it the answer counts for nothing.
          const { reply, vouches } = await d.follower.commit(
            from,
            info,
            decoded.msg,
            includePeers,
            view,
            ctx.deadline,
          );
          return seal(view.upkeeping, opened, commitReplyToBody(reply, info, vouches));
        }
        case 'propose': {
          const idle = 'idle' in decoded ? decoded.idle : { bits: [], active: [] };
          const reply = await d.follower.reveal(from, info, decoded.msg, idle);
          return seal(view.upkeeping, opened, revealToBody(reply, info));
        }
        case 'sync_request': {
          const accepted = await d.follower.sync(from, info, decoded.msg.attempt, view);
          return seal(view.upkeeping, opened, syncReplyToBody(info, decoded.msg.attempt, accepted));
        }
      }
    }),

    pushRecords: unary<keeperV1.PushRecordsRequest, keeperV1.PushRecordsResponse>(
      'PushRecords',
      h,
      async (req, ctx) => {
        const { opened, view } = await openFrom(d, req.envelope, ctx);
        const body = opened.message.body;
        if (body?.$case !== 'recordsPush') {
          throw new CoordinatorError(
            'ROUND_UNEXPECTED_MESSAGE',
            `PushRecords carries ${body?.$case ?? 'nothing'}`,
          );
        }
        if (!d.records) {
          throw new CoordinatorError('COORD_RECORDS_DISABLED', 'this keeper stores no peer records');
        }
        // A keeper broadcasts its own records for the group's user; anything
        // else is refused here and counted, the rest goes to the
        // challenge-store, which re-verifies every record from its proof.
        const user = view.user.toLowerCase();
        const own: typeof body.value.records = [];
        let refused = 0;
        for (const s of body.value.records) {
          const r = s.record;
          if (!r || r.keeperId !== opened.senderId || bytesToHex(r.user).toLowerCase() !== user) {
            refused++;
            d.rejected.inc({
              boundary: 'grpc:PushRecords',
              reason: r ? 'PEER_RECORD_NOT_SENDERS' : 'ROUND_MALFORMED',
            });
          } else own.push(s);
        }
        const { kept, refused: offChain } = await canonicalRecords(d.recordBlocks, own);
        for (const reason of offChain) d.rejected.inc({ boundary: 'grpc:PushRecords', reason });
        refused += offChain.length;
        const res = await d.records.putPeerRecords(kept);
        if (res.rejected > 0) {
          d.rejected.inc({ boundary: 'grpc:PushRecords', reason: 'PEER_RECORD_UNVERIFIED' }, res.rejected);
        }
        return seal(view.upkeeping, opened, {
          $case: 'recordsReply',
          value: {
            records: [],
            accepted: res.accepted,
            duplicates: res.duplicates,
            rejected: res.rejected + refused,
            nextPageToken: '',
          },
        });
      },
    ),

    pullRecords: unary<keeperV1.PullRecordsRequest, keeperV1.PullRecordsResponse>(
      'PullRecords',
      h,
      async (req, ctx) => {
        const { opened, view } = await openFrom(d, req.envelope, ctx);
        const body = opened.message.body;
        if (body?.$case !== 'recordsPull') {
          throw new CoordinatorError(
            'ROUND_UNEXPECTED_MESSAGE',
            `PullRecords carries ${body?.$case ?? 'nothing'}`,
          );
        }
        const pull = body.value;
        if (pull.user.length !== 20 || pull.pid.length !== 20 || pull.to < pull.from) {
          throw new CoordinatorError(
            'ROUND_MALFORMED',
            'PullRecords needs 20-byte user and pid and from <= to',
          );
        }
        if (bytesToHex(pull.user).toLowerCase() !== view.user.toLowerCase()) {
          throw new CoordinatorError('ROUND_MISMATCH', 'the user does not own this Upkeeping');
        }
        const page = await d.follower.ownRecords(pull);
        return seal(view.upkeeping, opened, {
          $case: 'recordsReply',
          value: {
            records: page.records,
            accepted: 0,
            duplicates: 0,
            rejected: 0,
            nextPageToken: page.nextPageToken,
          },
        });
      },
    ),
  };
}

export type { grpc };
