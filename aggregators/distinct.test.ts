import { describe, expect, it } from 'vitest';
import { checkLaws, type Ev, events, fold } from '../test/support/aggregator-laws.ts';
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

  it('distinct restores checkpoints that hold the values themselves (before fingerprints)', () => {
    const users = distinct((e: Ev) => e.user);
    const restored = users.fromJSON(['a', 'b']);
    expect(users.result(restored)).toBe(2);
    expect(users.result(fold(users, events))).toBe(users.result(events.reduce((s, e) => users.add(s, e), restored)));
    expect(() => users.fromJSON({ fingerprints: 'AAAA' })).toThrow(/truncated/);
    expect(() => users.fromJSON([{}])).toThrow(/expected/);
  });
});
