import { describe, expect, it } from 'vitest';
import { checkLaws, type Ev, events } from '../test/support/aggregator-laws.ts';
import { count } from './count.ts';

describe('count', () => {
  it('count, optionally filtered', () => {
    expect(checkLaws(count<Ev>(), events)).toBe(6);
    expect(
      checkLaws(
        count((e: Ev) => e.user === 'a'),
        events,
      ),
    ).toBe(2);
    expect(count().result(count().init())).toBe(0);
  });
});
