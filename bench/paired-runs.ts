/**
 * Two builds measured against each other on a machine whose speed drifts (other tenants, the
 * servers on the same cores): run in pairs, alternating which goes first, and judge the pairs'
 * differences, not two averages taken at different times.
 */
import { median } from './percentile.ts';

/** Which build each round runs first: base, change; then change, base; and so on (drift within a pair cancels over two). */
export function pairOrder(round: number): readonly ['base' | 'change', 'base' | 'change'] {
  return round % 2 === 0 ? ['base', 'change'] : ['change', 'base'];
}

/** One figure over the rounds: each pair's change minus base, their median and range, and how many pairs went each way. */
export interface PairedFigure {
  readonly differences: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Pairs where the change measured lower, and higher. */
  readonly lower: number;
  readonly higher: number;
}

export function pairedFigure(pairs: ReadonlyArray<{ readonly base: number; readonly change: number }>): PairedFigure {
  const differences = pairs.map((p) => p.change - p.base);
  return {
    differences,
    median: median(differences),
    min: Math.min(...differences),
    max: Math.max(...differences),
    lower: differences.filter((d) => d < 0).length,
    higher: differences.filter((d) => d > 0).length,
  };
}
