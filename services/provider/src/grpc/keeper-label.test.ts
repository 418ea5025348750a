import { describe, expect, it } from 'vitest';
import { keeperLabel, MAX_LABELLED_KEEPER } from './service.js';

describe('keeperLabel', () => {
  it('names the keepers of any real group and folds the rest into one series', () => {
    expect(keeperLabel(1)).toBe('1');
    expect(keeperLabel(MAX_LABELLED_KEEPER)).toBe(String(MAX_LABELLED_KEEPER));
    expect(keeperLabel(0)).toBe('other');
    expect(keeperLabel(MAX_LABELLED_KEEPER + 1)).toBe('other');
    expect(keeperLabel(2 ** 32 - 1)).toBe('other');
  });
});
