import { randomBytes } from 'node:crypto';
import type { Logger } from '@whitepay/base';
import { sign, toHex } from '@whitepay/bls';
import {
  type CommitReply,
  type CommitRequest,
  followerCommit,
  followerRespond,
  leaderAt,
  type Proposal,
  paymentMessage,
  type RevealReply,
  tid as tidOf,
} from '@whitepay/core';
import type { challengeV1, keeperV1 } from '@whitepay/proto';
import { bytesToHex, type Hex, hexToBytes, stringToBytes } from 'viem';
import { type ChainView, nextTsOf, type UpkeepingView } from '../chain/view.js';
import { CoordinatorError } from '../errors.js';
import { applyDelayFault, applyStFault, type Fault } from '../faults.js';
import { type RoundInfo, sameRound } from '../peer/messages.js';
import type { RecordStore } from '../records.js';
import type { StSource } from '../st.js';
import type { RoundStore } from './store.js';

export interface FollowerDeps {
  keeperId: number;
  chain: ChainView;
  st: StSource;
  store: RoundStore;
  records: RecordStore | null;
  blsSecretKey: Uint8Array;
  tolBps: bigint;
  fault: () => Fault;
  log: Logger;
  /** Pulls `[ts, te)` of (user, pid) from every other member (full sync); returns the records gathered. */
  pullFromPeers: (info: RoundInfo, view: UpkeepingView) => Promise<challengeV1.SignedRecord[]>;
}

/**
 * A member's side of a round (SPEC 6), the leader included (its driver calls
 * it directly). Every check that needs the chain happens here; the
 * commitment and the reveal themselves are core's `followerCommit` /
 * `followerRespond`.
 */
export class Follower {
  constructor(private readonly d: FollowerDeps) {}

  private log(info: RoundInfo): Logger {
    return this.d.log.child({ tid: info.tid, round: `${info.pid}:${info.ts}-${info.te}` });
  }

  /** The sender must be the leader `leaderAt` names for (user, pid, ts) at te, and te must have been mined. */
  private async checkLeader(from: number, info: RoundInfo, view: UpkeepingView): Promise<UpkeepingView> {
    if (tidOf(info).toLowerCase() !== info.tid.toLowerCase()) {
      throw new CoordinatorError('ROUND_MISMATCH', 'tid does not match the round it names');
    }
    if (from !== info.leaderId) {
      throw new CoordinatorError('ROUND_NOT_LEADER', `keeper ${from} sent a round led by ${info.leaderId}`);
    }
    let v = view;
    if (v.user.toLowerCase() !== info.user.toLowerCase()) {
      throw new CoordinatorError('ROUND_MISMATCH', `user ${info.user} does not own ${info.upkeeping}`);
    }
    let ts = nextTsOf(v, info.pid);
    if (ts !== info.ts) {
      // Our cached view may predate the last payment: read again once.
      v = await this.d.chain.current(info.upkeeping, true);
      ts = nextTsOf(v, info.pid);
    }
    if (ts === undefined)
      throw new CoordinatorError('ROUND_UNKNOWN_ACCOUNT', `${info.pid} is not an active provider`);
    if (ts !== info.ts) {
      throw new CoordinatorError('ROUND_STALE_TS', `ts ${info.ts} is not the provider's next ts ${ts}`);
    }
    let head = await this.d.chain.headBlock(250);
    if (info.te > head) head = await this.d.chain.headBlock(0);
    if (info.te > head)
      throw new CoordinatorError('ROUND_TE_AHEAD', `te ${info.te} is after our head ${head}`);
    const slot = leaderAt(
      {
        user: info.user,
        pid: info.pid,
        ts: info.ts,
        keepers: v.members.map((m) => m.keeperId),
        H: v.H,
        T: v.T,
      },
      info.te,
    );
    if (!slot || slot.keeperId !== from || slot.position !== info.r) {
      throw new CoordinatorError(
        'ROUND_NOT_LEADER',
        `keeper ${from} does not lead at te ${info.te} (leader ${slot?.keeperId ?? 'none'})`,
        { details: { leader: slot?.keeperId ?? null } },
      );
    }
    return v;
  }

  /** SPEC 6.1: compute st_i, draw a nonce, persist both, then answer the commitment. */
  async commit(
    from: number,
    info: RoundInfo,
    msg: CommitRequest,
    includePeers: boolean,
    view: UpkeepingView,
  ): Promise<CommitReply> {
    const log = this.log(info);
    const existing = await this.d.store.getCommit(info.tid, msg.attempt);
    if (existing) {
      if (!sameRound(existing.info, info))
        throw new CoordinatorError('ROUND_MISMATCH', 'another round under this tid');
      return followerCommit(msg, existing.st, existing.nonce);
    }
    await this.checkLeader(from, info, view);
    await applyDelayFault(this.d.fault());
    const own = await this.d.st.computeSt({
      user: info.user,
      pid: info.pid,
      ts: info.ts,
      te: info.te,
      includePeers,
    });
    const st = applyStFault(this.d.fault(), own);
    const nonce = bytesToHex(randomBytes(32));
    const stored = await this.d.store.putCommit({ info, st, nonce, includePeers }, msg.attempt);
    log.debug({ attempt: msg.attempt, st: String(stored.st), includePeers }, 'committed');
    return followerCommit(msg, stored.st, stored.nonce);
  }

  /** SPEC 6.2/6.3: reveal, and sign the payment message when the proposal is within tolerance. */
  async reveal(from: number, info: RoundInfo, msg: Proposal): Promise<RevealReply> {
    const stored = await this.d.store.getCommit(info.tid, msg.attempt);
    if (!stored) {
      throw new CoordinatorError('ROUND_UNKNOWN', `no commitment for attempt ${msg.attempt} of this round`);
    }
    if (!sameRound(stored.info, info) || from !== info.leaderId) {
      throw new CoordinatorError('ROUND_MISMATCH', 'the proposal does not match the committed round');
    }
    const chainId = BigInt(await this.d.chain.chainId());
    const fault = this.d.fault();
    const signSt = (st: bigint): Hex => {
      const message = hexToBytes(paymentMessage({ chainId, ...info, st }));
      // garbage-sig: a valid G2 point over the wrong bytes, so it decodes and fails verification.
      const bytes = fault.kind === 'garbage-sig' ? stringToBytes('garbage') : message;
      return toHex(sign(this.d.blsSecretKey, bytes));
    };
    const reply = followerRespond(msg, stored.st, stored.nonce, this.d.tolBps, signSt);
    this.log(info).debug(
      {
        attempt: msg.attempt,
        proposal: msg.proposal,
        st: String(msg.st),
        own: String(stored.st),
        approve: reply.approve,
      },
      'revealed',
    );
    return reply;
  }

  /** SPEC 6.4: pull the other members' records of [ts, te) and store them (re-verified by the challenge-store). */
  async sync(from: number, info: RoundInfo, view: UpkeepingView): Promise<number> {
    if (from !== info.leaderId)
      throw new CoordinatorError('ROUND_NOT_LEADER', `keeper ${from} is not the leader`);
    const log = this.log(info);
    const records = await this.d.pullFromPeers(info, view);
    if (!this.d.records) {
      log.warn({ pulled: records.length }, 'full sync without a challenge-store: records not stored');
      return 0;
    }
    const res = await this.d.records.putPeerRecords(records);
    log.info({ pulled: records.length, ...res }, 'full sync stored peer records');
    return res.accepted + res.duplicates;
  }

  /** A peer pulls this keeper's own records (signed with its account key). */
  async ownRecords(pull: keeperV1.RecordsPull): Promise<challengeV1.SignedRecord[]> {
    if (!this.d.records) return [];
    return this.d.records.ownSignedRecords({
      user: bytesToHex(pull.user),
      pid: bytesToHex(pull.pid),
      from: pull.from,
      to: pull.to,
    });
  }
}
