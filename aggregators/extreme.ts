import type { Aggregator } from './aggregator.ts';
import { expectNumber, numberColumns, withNumbers } from './number-aggregator.ts';

/** `min` and `max`: the extreme value by `pick`, `empty` standing for no value yet (a result of `null`). */
export function extreme<T>(
  name: string,
  value: (event: T) => number | undefined,
  empty: number,
  pick: (a: number, b: number) => number,
): Aggregator<T, number, number | null> {
  return withNumbers({
    init: () => empty,
    add: (current, e) => {
      const v = value(e);
      return v === undefined || Number.isNaN(v) ? current : pick(current, v);
    },
    merge: pick,
    result: (current) => (current === empty ? null : current),
    // ±Infinity is not JSON: an empty state is stored as null.
    toJSON: (current) => (current === empty ? null : current),
    fromJSON: (json) => (json === null ? empty : expectNumber(name, json)),
    // A column keeps ±Infinity as it is.
    columns: numberColumns(name),
  });
}
