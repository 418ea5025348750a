import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { formatPairs, formatTable, shortHex, toJson } from './io.js';
import {
  parseAddress,
  parseBps,
  parseEtherAmount,
  parseHexBytes,
  parseKeeperId,
  parseUint256,
} from './parse.js';

describe('output', () => {
  it('aligns tables, numbers to the right, missing cells as -', () => {
    expect(
      formatTable(
        ['id', 'name', 'balance'],
        [
          [1, 'a', 10n],
          [102, 'longer', null],
        ],
      ),
    ).toBe([' id  name    balance', '  1  a            10', '102  longer        -'].join('\n'));
  });

  it('aligns key/value pairs and writes bigints as decimal strings in JSON', () => {
    expect(
      formatPairs([
        ['a', 1],
        ['long', 'x'],
      ]),
    ).toBe('a     1\nlong  x');
    expect(JSON.parse(toJson({ v: 2n ** 200n }))).toEqual({ v: (2n ** 200n).toString() });
    expect(shortHex(`0x${'ab'.repeat(64)}`)).toBe('0xababab…ababab');
  });
});

describe('option parsers', () => {
  it('accept what they document', () => {
    expect(parseUint256('1e18')).toBe(10n ** 18n);
    expect(parseUint256('1_000')).toBe(1000n);
    expect(parseKeeperId('4294967295')).toBe(4294967295);
    expect(parseBps('10000')).toBe(10000);
    expect(parseEtherAmount('0.25')).toBe(25n * 10n ** 16n);
    expect(parseAddress('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266')).toBe(
      '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    );
    expect(parseHexBytes(2, 'x')('ABcd')).toBe('0xabcd');
  });

  it('reject the rest with InvalidArgumentError', () => {
    for (const bad of [
      () => parseUint256('-1'),
      () => parseUint256('1.5'),
      () => parseKeeperId('4294967296'),
      () => parseBps('10001'),
      () => parseEtherAmount('1e18'),
      () => parseEtherAmount('0.0000000000000000001'),
      () => parseAddress('0x1234'),
      () => parseAddress('0xF39fd6e51aad88f6f4ce6ab8827279cfffb92266'),
      () => parseHexBytes(2, 'x')('0xabc'),
      () => parseHexBytes({ min: 32 }, 'seed')('0x00'),
    ]) {
      expect(bad).toThrow(InvalidArgumentError);
    }
  });
});
