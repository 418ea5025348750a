import { type Address, type Hex, hexToString, keccak256, size, slice } from 'viem';
import { describe, expect, it } from 'vitest';
import {
  BATCH_DOMAIN,
  BATCH_ENTRY_BYTES,
  type BatchEntry,
  type BatchPaymentMessageInput,
  batchEntriesHash,
  batchPaymentMessage,
  decodeBatchEntries,
  encodeBatchEntries,
  groupByLeader,
} from './batch.js';
import { EncodingError } from './errors.js';
import { leaderAt } from './schedule.js';

const user: Address = '0x1111111111111111111111111111111111111111';
const upkeeping: Address = '0x3333333333333333333333333333333333333333';
const entries: BatchEntry[] = [
  { pid: '0x2222222222222222222222222222222222222222', ts: 1000n, te: 1600n, st: 123456789n },
  {
    pid: '0x4444444444444444444444444444444444444444',
    ts: 0x0102n,
    te: 0x0a0bn,
    st: (1n << 255n) + 7n,
    idle: (1n << 127n) + 5n,
  },
];
const base: BatchPaymentMessageInput = { chainId: 31337n, upkeeping, user, leaderId: 7, entries };

// Hand-laid: 20-byte pid, 8-byte ts, 8-byte te, 32-byte st, 16-byte idle per entry, no padding between
// them (the first entry's idle defaults to 0).
const PACKED: Hex = `0x${[
  '2222222222222222222222222222222222222222',
  '00000000000003e8',
  '0000000000000640',
  `${'0'.repeat(57)}75bcd15`,
  '0'.repeat(32),
  '4444444444444444444444444444444444444444',
  '0000000000000102',
  '0000000000000a0b',
  `8${'0'.repeat(62)}7`,
  `8${'0'.repeat(30)}5`,
].join('')}`;
// Hand-laid ABI words of the message: head of 6 words, then the string's length and its padded bytes.
const word = (v: bigint | string) =>
  (typeof v === 'bigint' ? v.toString(16) : v.replace(/^0x/, '')).padStart(64, '0');
const messageFor = (entriesHash: Hex): Hex =>
  `0x${[
    word(0xc0n),
    word(31337n),
    word(upkeeping),
    word(user),
    word(7n),
    entriesHash.slice(2),
    word(17n),
    Buffer.from(BATCH_DOMAIN).toString('hex').padEnd(64, '0'),
  ].join('')}`;

// Known answers (cross-checked with js-sha3 over the hand-laid bytes above, and against the contract's
// batchMessage view in contracts/test/batch.int.test.ts).
const ENTRIES_HASH = '0xc12728049a97a569ff8fac8e78d6603ad1bd6962d34f18b3cb2c1dd3bae82beb';
const MESSAGE_KECCAK = '0x82701db372f0f90ff88d3cf7eb232bb3f88dc88527189a7c26168007c3688be1';

describe('encodeBatchEntries', () => {
  it('packs address ‖ uint64 ‖ uint64 ‖ uint256 ‖ uint128 per entry, 84 bytes each', () => {
    const packed = encodeBatchEntries(entries);
    expect(packed).toBe(PACKED);
    expect(size(packed)).toBe(2 * BATCH_ENTRY_BYTES);
    expect(batchEntriesHash(entries)).toBe(keccak256(PACKED));
  });

  it('round-trips through decodeBatchEntries', () => {
    const decoded = decodeBatchEntries(encodeBatchEntries(entries));
    expect(decoded.map((e) => ({ ...e, pid: e.pid.toLowerCase() }))).toEqual(
      entries.map((e) => ({ idle: 0n, ...e })),
    );
  });

  it('encodes a missing idle set as 0n', () => {
    const e = entries[0]!;
    expect(encodeBatchEntries([e])).toBe(encodeBatchEntries([{ ...e, idle: 0n }]));
    expect(decodeBatchEntries(encodeBatchEntries([e]))[0]!.idle).toBe(0n);
  });

  it('encodes checksummed addresses like lower-case ones', () => {
    const mixed = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
    const e = { pid: mixed, ts: 1n, te: 2n, st: 3n } as const;
    expect(encodeBatchEntries([e])).toBe(encodeBatchEntries([{ ...e, pid: mixed.toLowerCase() as Address }]));
  });

  it('rejects an empty list, out-of-range values and empty intervals', () => {
    expect(() => encodeBatchEntries([])).toThrow(EncodingError);
    const e = entries[0]!;
    expect(() => encodeBatchEntries([{ ...e, ts: 1n << 64n, te: (1n << 64n) + 1n }])).toThrow(/ts/);
    expect(() => encodeBatchEntries([{ ...e, st: 1n << 256n }])).toThrow(/st/);
    expect(() => encodeBatchEntries([{ ...e, st: -1n }])).toThrow(/st/);
    expect(() => encodeBatchEntries([{ ...e, idle: 1n << 128n }])).toThrow(/entries\[0\]\.idle/);
    expect(() => encodeBatchEntries([{ ...e, idle: -1n }])).toThrow(EncodingError);
    expect(() => encodeBatchEntries([{ ...e, te: e.ts }])).toThrow(/entries\[0\]: te/);
    expect(() => encodeBatchEntries([e, { ...e, pid: '0x12' as Address }])).toThrow(/entries\[1\]\.pid/);
  });

  it('decodeBatchEntries rejects a length that is not a positive multiple of 84', () => {
    expect(() => decodeBatchEntries('0x')).toThrow(EncodingError);
    expect(() => decodeBatchEntries(slice(PACKED, 0, 83))).toThrow(EncodingError);
    expect(() => decodeBatchEntries(slice(PACKED, 0, 68))).toThrow(EncodingError);
  });
});

describe('batchPaymentMessage', () => {
  it('is abi.encode(string, uint256, address, address, uint32, bytes32 keccak256(packed))', () => {
    const msg = batchPaymentMessage(base);
    expect(msg).toBe(messageFor(keccak256(PACKED)));
    expect(size(msg)).toBe(8 * 32);
    expect(hexToString(slice(msg, 7 * 32, 7 * 32 + 17))).toBe(BATCH_DOMAIN);
  });

  it('matches the known answers', () => {
    expect(batchEntriesHash(entries)).toBe(ENTRIES_HASH);
    expect(keccak256(batchPaymentMessage(base))).toBe(MESSAGE_KECCAK);
  });

  it('commits to every entry, their order, the leader, the contract and the chain', () => {
    const msg = batchPaymentMessage(base);
    const variants: BatchPaymentMessageInput[] = [
      { ...base, entries: [entries[1]!, entries[0]!] },
      { ...base, entries: [entries[0]!] },
      { ...base, entries: [entries[0]!, { ...entries[1]!, st: entries[1]!.st + 1n }] },
      { ...base, entries: [entries[0]!, { ...entries[1]!, idle: 4n }] },
      { ...base, entries: [{ ...entries[0]!, idle: 1n }, entries[1]!] },
      { ...base, leaderId: 8 },
      { ...base, upkeeping: user },
      { ...base, chainId: 1n },
    ];
    for (const v of variants) expect(batchPaymentMessage(v)).not.toBe(msg);
  });

  it('rejects bad fields', () => {
    expect(() => batchPaymentMessage({ ...base, leaderId: 2 ** 32 })).toThrow(/leaderId/);
    expect(() => batchPaymentMessage({ ...base, chainId: -1n })).toThrow(/chainId/);
    expect(() => batchPaymentMessage({ ...base, entries: [] })).toThrow(EncodingError);
  });
});

describe('groupByLeader', () => {
  const schedule = { user, keepers: [101, 102, 103, 104, 105, 106, 107], H: 10n, T: 5n };
  const pidOf = (i: number) => `0x${(i + 1).toString(16).padStart(40, '0')}` as Address;

  it('puts every candidate in the batch of the keeper leading it at te, in order', () => {
    const candidates = Array.from({ length: 60 }, (_, i) => ({
      pid: pidOf(i),
      ts: 100n + BigInt(i % 9),
      st: 1n,
    }));
    const te = 130n;
    const batches = groupByLeader(schedule, te, candidates);
    expect(batches.reduce((a, b) => a + b.entries.length, 0)).toBe(60);
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) {
      for (const e of b.entries) {
        expect(e.te).toBe(te);
        expect(leaderAt({ ...schedule, pid: e.pid, ts: e.ts }, te)?.keeperId).toBe(b.leaderId);
      }
      const order = b.entries.map((e) => candidates.findIndex((c) => c.pid === e.pid));
      expect(order).toEqual([...order].sort((x, y) => x - y));
    }
  });

  it('leaves out candidates without a leader yet and rejects empty intervals', () => {
    expect(groupByLeader(schedule, 105n, [{ pid: pidOf(0), ts: 100n, st: 1n }])).toEqual([]);
    expect(() => groupByLeader(schedule, 100n, [{ pid: pidOf(0), ts: 100n, st: 1n }])).toThrow(EncodingError);
  });
});
