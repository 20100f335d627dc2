import { describe, expect, it } from 'vitest';
import { checkLaws, type Ev, events, fold } from '../test/support/aggregator-laws.ts';
import { topK } from './top-k.ts';

describe('topK', () => {
  it('topK sorts by count desc then key asc and truncates to k', () => {
    const top = topK((e: Ev) => e.page, 2);
    expect(checkLaws(top, events)).toEqual([
      { key: '/x', count: 2 },
      { key: '/y', count: 2 },
    ]);
    expect(
      checkLaws(
        topK((e: Ev) => e.user, 10),
        [...events, { user: 'c', ts: 7 }],
      ),
    ).toEqual([
      { key: 'c', count: 3 },
      { key: 'a', count: 2 },
      { key: 'b', count: 2 },
    ]);
    // The result is a copy: later adds do not change an emitted result.
    const state = fold(top, events);
    const result = top.result(state);
    top.add(state, { user: 'z', page: '/z', ts: 9 });
    expect(result).toEqual([
      { key: '/x', count: 2 },
      { key: '/y', count: 2 },
    ]);
    expect(() => topK((e: Ev) => e.page, 0)).toThrow(/k must be/);
  });
});
