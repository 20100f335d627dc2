import { expect } from 'vitest';
import type { Aggregator } from '../../aggregators/aggregator.ts';

/** Events for the aggregators' tests. */
export interface Ev {
  readonly user: string;
  readonly page?: string;
  readonly price?: number;
  readonly ts: number;
}

export const events: Ev[] = [
  { user: 'a', page: '/x', price: 3, ts: 1 },
  { user: 'b', page: '/y', ts: 2 },
  { user: 'a', page: '/y', price: -1, ts: 3 },
  { user: 'c', ts: 4 },
  { user: 'b', page: '/x', price: 10, ts: 5 },
  { user: 'c', page: '/z', ts: 6 },
];

/** `input` folded into a fresh state. */
export function fold<T, S, R>(agg: Aggregator<T, S, R>, input: readonly T[]): S {
  let state = agg.init();
  for (const e of input) state = agg.add(state, e);
  return state;
}

/** result(fold(all)) == result(merge(fold(left), fold(right))) and the state survives a JSON round trip. */
export function checkLaws<T, S, R>(agg: Aggregator<T, S, R>, input: readonly T[]): R {
  const all = agg.result(fold(agg, input));
  for (let cut = 0; cut <= input.length; cut++) {
    const merged = agg.merge(fold(agg, input.slice(0, cut)), fold(agg, input.slice(cut)));
    expect(agg.result(merged)).toEqual(all);
  }
  const json: unknown = JSON.parse(JSON.stringify(agg.toJSON(fold(agg, input))));
  expect(agg.result(agg.fromJSON(json))).toEqual(all);
  // Restored state keeps folding like the original.
  expect(agg.result(agg.add(agg.fromJSON(json), input[0]!))).toEqual(agg.result(agg.add(fold(agg, input), input[0]!)));
  return all;
}
