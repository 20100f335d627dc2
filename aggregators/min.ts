import type { Aggregator } from './aggregator.ts';
import { extreme } from './extreme.ts';

/**
 * Smallest value; `undefined` and NaN are skipped. Empty → `null`.
 * @example `min((e: Purchase) => e.price)`
 */
export function min<T>(value: (event: T) => number | undefined): Aggregator<T, number, number | null> {
  return extreme('min', value, Infinity, (a, b) => Math.min(b, a));
}
