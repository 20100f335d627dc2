import type { Aggregator } from './aggregator.ts';
import { expectNumber, numberColumns, withNumbers } from './number-aggregator.ts';

/**
 * Sum a numeric field; `undefined` (and NaN) values are skipped. Empty → 0.
 * @example `sum((e: Purchase) => e.price * e.quantity)`
 */
export function sum<T>(value: (event: T) => number | undefined): Aggregator<T, number, number> {
  return withNumbers({
    init: () => 0,
    add: (total, e) => {
      const v = value(e);
      return v === undefined || Number.isNaN(v) ? total : total + v;
    },
    merge: (a, b) => a + b,
    result: (total) => total,
    toJSON: (total) => total,
    fromJSON: (json) => expectNumber('sum', json),
    columns: numberColumns('sum'),
  });
}
