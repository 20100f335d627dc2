import { describe, expect, it } from 'vitest';
import { checkLaws, type Ev, events } from '../test/support/aggregator-laws.ts';
import { min } from './min.ts';

describe('min', () => {
  it('min is the smallest value, skipping undefined', () => {
    expect(
      checkLaws(
        min((e: Ev) => e.price),
        events,
      ),
    ).toBe(-1);
  });
});
