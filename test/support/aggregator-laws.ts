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
  if (agg.panes) checkPanes(agg, input);
  return all;
}

/**
 * With panes (hopping windows): every window's result read off its panes is that of its events
 * folded, reading changes nothing, and the panes survive a JSON round trip.
 */
function checkPanes<T, S, R>(agg: Aggregator<T, S, R>, input: readonly T[]): void {
  const span = 2;
  const paneOf = (i: number): number => Math.floor(i / 2);
  const panes = agg.panes!.create(span);
  for (const [i, e] of input.entries()) panes.add(paneOf(i), paneOf(i) - span + 1, e);
  const restored = agg.panes!.restore(JSON.parse(JSON.stringify(panes.toJSON())), span);
  for (let first = -span; first <= paneOf(input.length - 1) + 1; first++) {
    const inWindow = input.filter((_, i) => paneOf(i) >= first && paneOf(i) < first + span);
    const expected = agg.result(fold(agg, inWindow));
    expect(panes.result(first)).toEqual(expected);
    expect(panes.result(first)).toEqual(expected);
    expect(restored.result(first)).toEqual(expected);
  }
}
