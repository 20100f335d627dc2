import { describe, expect, it } from 'vitest';
import { pairedFigure, pairOrder } from './paired-runs.ts';
import { median } from './percentile.ts';

describe('paired runs', () => {
  it('alternates which build goes first, so drift within a pair cancels over two rounds', () => {
    expect([0, 1, 2, 3].map(pairOrder)).toEqual([
      ['base', 'change'],
      ['change', 'base'],
      ['base', 'change'],
      ['change', 'base'],
    ]);
  });

  it('judges each pair by its own difference, not by averages taken at different times', () => {
    // The machine slows down over the rounds (base 15 -> 18), the change stays ~0.7 below its pair.
    const pairs = [
      { base: 15, change: 14.2 },
      { base: 16, change: 15.4 },
      { base: 18, change: 17.2 },
    ];
    const figure = pairedFigure(pairs);
    expect(figure.differences.map((d) => +d.toFixed(2))).toEqual([-0.8, -0.6, -0.8]);
    expect(figure.median).toBeCloseTo(-0.8);
    expect([figure.min, figure.max].map((d) => +d.toFixed(2))).toEqual([-0.8, -0.6]);
    expect([figure.lower, figure.higher]).toEqual([3, 0]);
  });

  it('takes the mean of the middle two of an even count as the median (neither build favoured), and NaN of none', () => {
    expect(median([3, 1, 4, 2])).toBe(2.5);
    expect(
      pairedFigure([
        { base: 10, change: 9 },
        { base: 10, change: 11.5 },
      ]).median,
    ).toBe(0.25);
    expect(median([5])).toBe(5);
    expect(median([])).toBeNaN();
  });
});
