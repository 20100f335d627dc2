import { describe, expect, it } from 'vitest';
import { checkLaws, type Ev, events, fold } from '../test/support/aggregator-laws.ts';
import { max } from './max.ts';

describe('max', () => {
  it('max is null when empty and survives JSON when empty', () => {
    expect(
      checkLaws(
        max((e: Ev) => e.price),
        events,
      ),
    ).toBe(10);
    const m = max((e: Ev) => e.price);
    expect(m.result(m.init())).toBeNull();
    expect(m.result(m.fromJSON(JSON.parse(JSON.stringify(m.toJSON(m.init())))))).toBeNull();
    expect(m.result(fold(m, [{ user: 'a', ts: 1 }]))).toBeNull();
  });
});
