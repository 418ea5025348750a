import { describe, expect, it } from 'vitest';
import { BlockMessageError, TaskMessageError } from '../errors.js';
import { blockOf } from '../testing/harness.js';
import { encodeTask, parseBlock, parseTask } from './messages.js';

const enc = new TextEncoder();
const bytes = (v: unknown) => enc.encode(typeof v === 'string' ? v : JSON.stringify(v));

describe('block and task messages', () => {
  it('parses the chain-submitter block header', () => {
    expect(parseBlock(bytes(blockOf(5)))).toEqual(blockOf(5));
  });
  it.each([
    ['not JSON', 'hello'],
    ['invalid UTF-8', new Uint8Array([0xff, 0xfe])],
    ['an array', []],
    ['a negative number', { ...blockOf(1), number: -1 }],
    ['a fractional number', { ...blockOf(1), number: 1.5 }],
    ['a short hash', { ...blockOf(1), hash: '0x1234' }],
    ['a missing parentHash', { number: 1, hash: blockOf(1).hash, timestamp: 1 }],
    ['a string number', { ...blockOf(1), number: '1' }],
  ])('rejects %s with BLOCK_MESSAGE_INVALID', (_, v) => {
    const data = v instanceof Uint8Array ? v : bytes(v);
    expect(() => parseBlock(data)).toThrow(BlockMessageError);
    try {
      parseBlock(data);
    } catch (err) {
      expect((err as BlockMessageError).code).toBe('BLOCK_MESSAGE_INVALID');
    }
  });
  it('round-trips tasks and lower-cases addresses', () => {
    const t = {
      block: blockOf(9),
      user: '0xABCDEF0000000000000000000000000000000001' as const,
      pid: '0x0000000000000000000000000000000000000002' as const,
    };
    expect(parseTask(encodeTask(t)).user).toBe('0xabcdef0000000000000000000000000000000001');
    expect(() => parseTask(bytes({ block: blockOf(1), user: '0x1' }))).toThrow(TaskMessageError);
    const pieces = [
      { pieceId: `0x${'AB'.repeat(32)}`, size: 2n ** 40n, root: `0x${'cd'.repeat(32)}`, leafSize: 4096 },
    ];
    const withPieces = parseTask(encodeTask({ ...t, pieces } as Parameters<typeof encodeTask>[0]));
    expect(withPieces.pieces).toEqual([{ ...pieces[0], pieceId: `0x${'ab'.repeat(32)}` }]);
    expect(parseTask(encodeTask(t)).pieces).toBeUndefined();
    expect(() => parseTask(bytes({ ...t, pieces: [{ ...pieces[0], size: '-1' }] }))).toThrow(
      TaskMessageError,
    );
  });
});
