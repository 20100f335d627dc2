import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { nonNegativeInt, positiveInt } from './int-options.ts';

describe('integer options', () => {
  it('reads counts with separators', () => {
    expect(positiveInt('10000000')).toBe(10_000_000);
    expect(positiveInt('1_000_000')).toBe(1_000_000);
    expect(positiveInt('20,000')).toBe(20_000);
  });

  it('rejects 0 where a count must be positive, takes it where 0 means something (a port, as fast as possible)', () => {
    expect(() => positiveInt('0')).toThrow(InvalidArgumentError);
    expect(nonNegativeInt('0')).toBe(0);
    expect(nonNegativeInt('3100')).toBe(3100);
  });

  it('rejects what is not a whole number', () => {
    for (const bad of ['-1', '1.5', 'abc', '', '1e400']) {
      expect(() => positiveInt(bad), bad).toThrow(InvalidArgumentError);
      expect(() => nonNegativeInt(bad), bad).toThrow(InvalidArgumentError);
    }
  });
});
