import type { Aggregator } from './aggregator.ts';
import { expectNumber, numberColumns, withNumbers } from './number-aggregator.ts';

/**
 * Count events, or only those matching `filter`.
 * @example `tumbling({ sizeMs: 60_000, time: (e) => e.ts, aggregate: count() })`
 */
export function count<T>(filter?: (event: T) => boolean): Aggregator<T, number, number> {
  return withNumbers({
    init: () => 0,
    add: filter ? (n, e) => (filter(e) ? n + 1 : n) : (n) => n + 1,
    merge: (a, b) => a + b,
    result: (n) => n,
    toJSON: (n) => n,
    fromJSON: (json) => expectNumber('count', json),
    columns: numberColumns('count'),
  });
}
