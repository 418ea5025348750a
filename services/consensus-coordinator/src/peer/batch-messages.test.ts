import { batchId } from '@whitepay/core';
import { keeperV1 } from '@whitepay/proto';
import { type Address, getAddress, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { CoordinatorError } from '../errors.js';
import {
  type BatchInfo,
  batchCommitReplyToBody,
  batchLeaderMessageToBody,
  batchRevealToBody,
  batchSyncReplyToBody,
  bodyToBatchLeaderMessage,
  bodyToBatchReply,
  isBatchLeaderBody,
  sameBatch,
} from './batch-messages.js';
import type { Body } from './messages.js';

const user: Address = getAddress('0x00000000000000000000000000000000000000a1');
const upkeeping: Address = getAddress('0x00000000000000000000000000000000000000c3');
const items = [
  { pid: getAddress('0x00000000000000000000000000000000000000b2'), ts: 100n, te: 120n },
  { pid: getAddress('0x00000000000000000000000000000000000000b3'), ts: 90n, te: 120n },
];
const bid = batchId({ user, leaderId: 7, r: 2, items });
const info: BatchInfo = { upkeeping, bid, user, leaderId: 7, r: 2 };
const nonce = `0x${'11'.repeat(32)}` as Hex;

function wire(body: Body): Body {
  return keeperV1.PeerMessage.decode(keeperV1.PeerMessage.encode({ sequence: 1n, body }).finish()).body!;
}

function code(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(CoordinatorError);
    return (err as CoordinatorError).code;
  }
}

describe('batch body ↔ reducer message mapping', () => {
  it('round-trips the leader messages', () => {
    const commit = {
      kind: 'batch_commit_request',
      bid,
      attempt: 2,
      user,
      leaderId: 7,
      r: 2,
      items,
    } as const;
    const body = wire(batchLeaderMessageToBody(commit, info, true));
    expect(isBatchLeaderBody(body)).toBe(true);
    expect(bodyToBatchLeaderMessage(body)).toEqual({ info, msg: commit, includePeers: true });
    const propose = {
      kind: 'batch_propose',
      bid,
      attempt: 1,
      proposal: 2,
      sts: [5n, 2n ** 200n],
      median: true,
    } as const;
    expect(bodyToBatchLeaderMessage(wire(batchLeaderMessageToBody(propose, info)))).toEqual({
      info,
      msg: propose,
    });
    const sync = { kind: 'batch_sync_request', bid, attempt: 3 } as const;
    expect(bodyToBatchLeaderMessage(wire(batchLeaderMessageToBody(sync, info)))).toEqual({ info, msg: sync });
  });

  it('round-trips the replies', () => {
    const c = { kind: 'batch_commit', bid, attempt: 1, commitment: nonce } as const;
    expect(bodyToBatchReply(wire(batchCommitReplyToBody(c, info)))).toEqual({ type: 'commit', msg: c });
    const r = {
      kind: 'batch_reveal',
      bid,
      attempt: 1,
      proposal: 1,
      sts: [1n, 2n],
      nonce,
      approve: false,
    } as const;
    expect(bodyToBatchReply(wire(batchRevealToBody(r, info)))).toEqual({ type: 'reveal', msg: r });
    const signed = { ...r, approve: true, signature: `0x${'ab'.repeat(96)}` as Hex };
    expect(bodyToBatchReply(wire(batchRevealToBody(signed, info)))).toEqual({ type: 'reveal', msg: signed });
    expect(bodyToBatchReply(wire(batchSyncReplyToBody(info, 2, 5)))).toEqual({
      type: 'synced',
      bid,
      attempt: 2,
      accepted: 5,
    });
    expect(bodyToBatchReply({ $case: 'error', value: { code: 'X', message: 'y' } })).toEqual({
      type: 'error',
      code: 'X',
      message: 'y',
    });
  });

  it('refuses malformed bodies with typed errors', () => {
    const propose = batchLeaderMessageToBody(
      { kind: 'batch_propose', bid, attempt: 1, proposal: 1, sts: [1n], median: false },
      info,
    ) as Extract<Body, { $case: 'batchProposeRequest' }>;
    const bad = (value: Partial<keeperV1.BatchProposeRequest>) =>
      code(() => bodyToBatchLeaderMessage({ ...propose, value: { ...propose.value, ...value } }));
    expect(bad({ sts: [] })).toBe('ROUND_MALFORMED');
    expect(bad({ sts: ['-1'] })).toBe('ROUND_MALFORMED');
    expect(bad({ sts: [(1n << 256n).toString()] })).toBe('ROUND_MALFORMED');
    expect(bad({ proposal: 3 })).toBe('ROUND_MALFORMED');
    expect(bad({ round: undefined })).toBe('ROUND_MALFORMED');
    expect(bad({ round: { ...propose.value.round!, position: 0 } })).toBe('ROUND_MALFORMED');
    expect(bad({ round: { ...propose.value.round!, attempt: 0 } })).toBe('ROUND_MALFORMED');
    expect(bad({ round: { ...propose.value.round!, bid: new Uint8Array(3) } })).toBe('ROUND_MALFORMED');
    const commit = batchLeaderMessageToBody(
      { kind: 'batch_commit_request', bid, attempt: 1, user, leaderId: 7, r: 2, items },
      info,
    ) as Extract<Body, { $case: 'batchCommitRequest' }>;
    const badItems = (its: keeperV1.BatchItem[]) =>
      code(() => bodyToBatchLeaderMessage({ ...commit, value: { ...commit.value, items: its } }));
    expect(badItems([])).toBe('ROUND_MALFORMED');
    expect(badItems([{ pid: new Uint8Array(20), ts: 5n, te: 5n }])).toBe('ROUND_MALFORMED');
    expect(code(() => bodyToBatchLeaderMessage({ $case: 'ack', value: { ok: true } }))).toBe(
      'ROUND_UNEXPECTED_MESSAGE',
    );
    expect(code(() => bodyToBatchReply(undefined))).toBe('ROUND_UNEXPECTED_MESSAGE');
    expect(isBatchLeaderBody({ $case: 'ack', value: { ok: true } })).toBe(false);
  });

  it('sameBatch compares addresses case-insensitively', () => {
    expect(sameBatch(info, { ...info, user: user.toLowerCase() as Address })).toBe(true);
    expect(sameBatch(info, { ...info, r: 3 })).toBe(false);
  });
});
