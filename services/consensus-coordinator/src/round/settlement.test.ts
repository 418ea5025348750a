import { upkeepingAbi } from '@whitepay/contracts';
import {
  type AbiEvent,
  type Address,
  encodeAbiParameters,
  encodeEventTopics,
  getAddress,
  type Hex,
  type TransactionReceipt,
} from 'viem';
import { describe, expect, it } from 'vitest';
import { batchSettlementOf, receiptSettlements } from './settlement.js';

const UPKEEPING = '0x00000000000000000000000000000000000000aa' as Address;
const OTHER = '0x00000000000000000000000000000000000000bb' as Address;
const PID_A = getAddress('0x11111111111111111111111111111111111111aa');
const PID_B = getAddress('0x11111111111111111111111111111111111111bb');
const PID_C = getAddress('0x11111111111111111111111111111111111111cc');
const TID = `0x${'11'.repeat(32)}` as Hex;

/** A log of `upkeeping` as the contract emits it: indexed args in topics, the others ABI-encoded in data. */
function logOf(address: Address, eventName: string, args: Record<string, unknown>) {
  const event = upkeepingAbi.find((x) => x.type === 'event' && x.name === eventName) as AbiEvent;
  const indexed = Object.fromEntries(
    event.inputs.filter((i) => i.indexed).map((i) => [i.name!, args[i.name!]]),
  );
  const rest = event.inputs.filter((i) => !i.indexed);
  return {
    address,
    topics: encodeEventTopics({ abi: [event], eventName, args: indexed } as never),
    data: encodeAbiParameters(
      rest,
      rest.map((i) => args[i.name!]),
    ),
    blockNumber: 10n,
    logIndex: 0,
    transactionHash: `0x${'22'.repeat(32)}`,
    transactionIndex: 0,
    blockHash: `0x${'33'.repeat(32)}`,
    removed: false,
  };
}

const paid = (pid: Address, ts: bigint, te: bigint, st: bigint) =>
  logOf(UPKEEPING, 'PaymentMade', {
    pid,
    leaderId: 2,
    tid: TID,
    ts,
    te,
    st,
    amount: st,
    providerAmount: (st * 9n) / 10n,
    bonus: 0n,
    keeperShare: st / 40n,
    position: 1,
    excluded: 0,
    signers: 7n,
    idle: 0n,
  });

const receipt = (logs: unknown[]) => ({ logs }) as unknown as TransactionReceipt;

describe('batchSettlementOf', () => {
  it('lists the paid entries, then the skipped ones with their reason, and the batch amount', () => {
    const r = receipt([
      paid(PID_A, 10n, 22n, 1000n),
      logOf(UPKEEPING, 'PaymentSkipped', { pid: PID_B, ts: 9n, te: 22n, reason: 1 }),
      paid(PID_C, 10n, 22n, 500n),
      logOf(UPKEEPING, 'BatchSettled', {
        leaderId: 2,
        entriesHash: TID,
        paid: 2n,
        skipped: 1n,
        amount: 1500n,
      }),
    ]);
    expect(batchSettlementOf(r, UPKEEPING)).toEqual({
      amount: '1500',
      entries: [
        { pid: PID_A, ts: '10', te: '22', st: '1000', status: 'paid', tid: TID, amount: '1000' },
        { pid: PID_C, ts: '10', te: '22', st: '500', status: 'paid', tid: TID, amount: '500' },
        { pid: PID_B, ts: '9', te: '22', status: 'skipped', reason: 'IntervalNotContiguous' },
      ],
    });
  });

  it("ignores another contract's logs", () => {
    const r = receipt([
      { ...paid(PID_A, 10n, 22n, 1000n), address: OTHER },
      logOf(UPKEEPING, 'PaymentSkipped', { pid: PID_B, ts: 9n, te: 22n, reason: 6 }),
      logOf(UPKEEPING, 'BatchSettled', { leaderId: 2, entriesHash: TID, paid: 0n, skipped: 1n, amount: 0n }),
    ]);
    expect(batchSettlementOf(r, UPKEEPING)).toEqual({
      amount: '0',
      entries: [{ pid: PID_B, ts: '9', te: '22', status: 'skipped', reason: 'InsufficientFunds' }],
    });
  });
});

describe('receiptSettlements', () => {
  it('reads the receipt of the given transaction', async () => {
    const asked: Hex[] = [];
    const client = {
      getTransactionReceipt: async ({ hash }: { hash: Hex }) => {
        asked.push(hash);
        return receipt([paid(PID_A, 10n, 22n, 7n)]);
      },
    };
    const read = receiptSettlements(client as never);
    const s = await read(UPKEEPING, TID);
    expect(asked).toEqual([TID]);
    expect(s.entries).toEqual([
      { pid: PID_A, ts: '10', te: '22', st: '7', status: 'paid', tid: TID, amount: '7' },
    ]);
    expect(s.amount).toBe('0'); // no BatchSettled in this receipt
  });
});
