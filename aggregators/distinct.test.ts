import { describe, expect, it } from 'vitest';
import { checkLaws, type Ev, events } from '../test/support/aggregator-laws.ts';
import { distinct } from './distinct.ts';

describe('distinct', () => {
  it('distinct counts exact distinct values, skipping undefined, keeping 1 and "1" apart', () => {
    expect(
      checkLaws(
        distinct((e: Ev) => e.user),
        events,
      ),
    ).toBe(3);
    expect(
      checkLaws(
        distinct((e: Ev) => e.page),
        events,
      ),
    ).toBe(3);
    const mixed = distinct((v: string | number) => v);
    expect(checkLaws(mixed, [1, '1', 1, 2])).toBe(3);
  });

  it('distinct refuses a state that is not its fingerprints (the values themselves came from format-1 checkpoints)', () => {
    const users = distinct((e: Ev) => e.user);
    expect(() => users.fromJSON({ fingerprints: 'AAAA' })).toThrow(/truncated/);
    expect(() => users.fromJSON(['a', 'b'])).toThrow(/expected \{ fingerprints \}/);
    expect(() => users.fromJSON([{}])).toThrow(/expected/);
  });
});
