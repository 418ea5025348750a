import { encodeBatchEntries, roundId } from '@whitepay/core';
import { getAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { SubmitRequestError } from '../../errors.js';
import { packedEntries } from './calls.js';
import { batchIdOf, parseSubmit } from './request.js';

const user = '0x00000000000000000000000000000000000000a1';
const pid = '0x00000000000000000000000000000000000000B2';
const entries = [
  { pid, ts: 10n, te: 20n, st: 5n },
  { pid: '0x00000000000000000000000000000000000000c3', ts: 11n, te: 20n, st: 0n },
] as const;
const body = {
  upkeeping: '0x00000000000000000000000000000000000000d4',
  entries: encodeBatchEntries(entries),
  leaderId: 101,
  r: 2,
  group: '0x01',
  signers: [0, 1],
  signature: '0x02',
  tid: roundId({ user, leaderId: 101, r: 2, items: entries }),
};

describe('parseSubmit', () => {
  it('unpacks the entries into the outbox list and recomputes the batch id', () => {
    const { request, claimedBid } = parseSubmit(body);
    expect(request.entries).toEqual([
      { pid: getAddress(pid), ts: '10', te: '20', st: '5' },
      { pid: getAddress(entries[1].pid), ts: '11', te: '20', st: '0' },
    ]);
    expect(batchIdOf(request, user)).toBe(claimedBid);
    // A coordinator of before the one kind still sends `kind: "batch"`.
    expect(parseSubmit({ ...body, kind: 'batch' }).request).toEqual(request);
  });

  it('refuses the single pay body, another kind, empty or ragged entries', () => {
    const single = { ...body, entries: undefined, pid, ts: '10', te: '20', st: '5' };
    for (const bad of [
      single,
      { ...body, kind: 'pay' },
      { ...body, entries: '0x' },
      { ...body, entries: `${body.entries}00` },
      { ...body, tid: '0x12' },
    ]) {
      expect(() => parseSubmit(bad)).toThrow(SubmitRequestError);
    }
  });

  it('a provider twice is not a batch', () => {
    const twice = encodeBatchEntries([entries[0], { ...entries[0], ts: 20n, te: 30n }]);
    const { request } = parseSubmit({ ...body, entries: twice });
    expect(() => batchIdOf(request, user)).toThrow(SubmitRequestError);
  });

  it("keeps each entry's idle set: the packed bytes sent on-chain are the ones signed", () => {
    const withIdle = encodeBatchEntries([{ ...entries[0], idle: 0b101n }, entries[1]]);
    const { request } = parseSubmit({ ...body, entries: withIdle });
    expect(request.entries[0]).toEqual({ pid: getAddress(pid), ts: '10', te: '20', st: '5', idle: '5' });
    expect(request.entries[1]).not.toHaveProperty('idle');
    expect(packedEntries(request)).toBe(withIdle);
  });
});
