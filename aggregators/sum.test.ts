import { describe, expect, it } from 'vitest';
import { checkLaws, type Ev, events } from '../test/support/aggregator-laws.ts';
import { sum } from './sum.ts';

describe('sum', () => {
  it('sum skips undefined', () => {
    expect(
      checkLaws(
        sum((e: Ev) => e.price),
        events,
      ),
    ).toBe(12);
    expect(sum((e: Ev) => e.price).result(sum((e: Ev) => e.price).init())).toBe(0);
  });
});
