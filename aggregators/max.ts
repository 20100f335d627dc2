import type { Aggregator } from './aggregator.ts';
import { extreme } from './extreme.ts';

/**
 * Largest value; `undefined` and NaN are skipped. Empty → `null`.
 * @example `max((e: Purchase) => e.price)`
 */
export function max<T>(value: (event: T) => number | undefined): Aggregator<T, number, number | null> {
  return extreme('max', value, -Infinity, (a, b) => Math.max(b, a));
}
