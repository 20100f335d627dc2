import { describe, expect, expectTypeOf, it } from 'vitest';
import { checkLaws, type Ev, events, fold } from '../test/support/aggregator-laws.ts';
import type { Aggregator } from './aggregator.ts';
import { type AggregateResult, combine } from './combine.ts';
import { count } from './count.ts';
import { distinct } from './distinct.ts';
import { max } from './max.ts';
import { min } from './min.ts';
import { sum } from './sum.ts';
import { topK } from './top-k.ts';

describe('combine', () => {
  it('combine runs several aggregators and infers the result record', () => {
    const agg = combine({
      n: count<Ev>(),
      revenue: sum((e: Ev) => e.price),
      users: distinct((e: Ev) => e.user),
      top: topK((e: Ev) => e.page, 1),
      cheapest: min((e: Ev) => e.price),
    });
    expectTypeOf(agg.result(agg.init())).toEqualTypeOf<{
      n: number;
      revenue: number;
      users: number;
      top: Array<{ readonly key: string; readonly count: number }>;
      cheapest: number | null;
    }>();
    expect(checkLaws(agg, events)).toEqual({ n: 6, revenue: 12, users: 3, top: [{ key: '/x', count: 2 }], cheapest: -1 });
    expect(() => agg.fromJSON({ n: 1 })).toThrow(/missing state for 'revenue'/);
  });

  it('combine keeps member names that are not identifiers as own properties (generated record builder)', () => {
    const agg = combine({ 'quote"and\\slash': count<Ev>(), ['__proto__']: sum((e: Ev) => e.price), 'new\nline': count<Ev>() } as Record<
      string,
      Aggregator<Ev, number, number>
    >);
    const state = events.reduce((s, e) => agg.add(s, e), agg.init());
    const result = agg.result(state);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.entries(result)).toEqual([
      ['quote"and\\slash', 6],
      ['__proto__', 12],
      ['new\nline', 6],
    ]);
    const json = JSON.parse(JSON.stringify(agg.toJSON(state))) as unknown;
    expect(agg.result(agg.fromJSON(json))).toEqual(result);
  });

  it('count, sum, min, max and combines of them checkpoint many states as columns, exactly', () => {
    const agg = combine({
      n: count<Ev>(),
      revenue: sum((e: Ev) => e.price),
      cheapest: min((e: Ev) => e.price),
      ['__proto__']: max((e: Ev) => e.price),
    } as Record<string, Aggregator<Ev, number, number | null>>);
    const states = [
      fold(agg, events),
      fold(agg, events.slice(0, 2)),
      agg.init(),
      fold(agg, [
        { user: 'd', price: 0.1, ts: 1 },
        { user: 'd', price: 0.2, ts: 2 },
      ]),
    ];
    const columns = agg.columns!;
    const writer = columns.writer(states.length + 2);
    for (const [i, state] of states.entries()) writer.set(i, state);
    const json = JSON.parse(JSON.stringify(writer.done(states.length))) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['n', 'revenue', 'cheapest', '__proto__']);
    expect(typeof json.n).toBe('string'); // typed columns as base64
    // Counts fit in uint32s (4 bytes a state), the revenue's sums do not (float64s, 8 bytes).
    expect(Buffer.from(json.n as string, 'base64').length).toBe(4 * states.length);
    expect(Buffer.from(json.revenue as string, 'base64').length).toBe(8 * states.length);
    const restored = columns.fromColumns(json, states.length);
    // Empty min/max (±Infinity) and inexact sums (0.1 + 0.2) come back as they were.
    expect(restored.map((s) => agg.result(s))).toEqual(states.map((s) => agg.result(s)));
    expect(restored.map((s) => JSON.stringify(agg.toJSON(s)))).toEqual(states.map((s) => JSON.stringify(agg.toJSON(s))));
    expect(() => columns.fromColumns(json, 3)).toThrow('count: expected 3 states: 16 bytes are neither 3 uint32s nor 3 float64s');
    expect(() => columns.fromColumns({ ...json, n: [1, 2, 3, 4] }, 4)).toThrow(/expected a typed column/);
    // A member without columns (distinct, topK): the combine has none, and window snapshots keep a JSON value per window.
    expect(combine({ n: count<Ev>(), users: distinct((e: Ev) => e.user) }).columns).toBeUndefined();
  });

  it('number states (count, sum, min, max and combines of them) behave as the states they stand for', () => {
    const agg = combine({
      pages: count<Ev>((e) => e.page !== undefined),
      revenue: sum((e: Ev) => e.price),
      cheapest: min((e: Ev) => e.price),
      ['__proto__']: max((e: Ev) => e.price),
    } as Record<string, Aggregator<Ev, number, number | null>>);
    const numbers = agg.numbers!;
    expect(numbers.width).toBe(4);
    // Three states side by side: 0 stays empty, 1 folds the first half, 2 the rest and is merged into 1.
    const states = new Float64Array(3 * 4);
    for (const at of [0, 4, 8]) numbers.init(states, at);
    for (const e of events.slice(0, 3)) numbers.add(states, 4, e);
    for (const e of events.slice(3)) numbers.add(states, 8, e);
    numbers.merge(states, 4, 8);
    expect(numbers.result(states, 0)).toEqual(agg.result(agg.init()));
    expect(numbers.result(states, 4)).toEqual(agg.result(fold(agg, events)));
    // Checkpoint columns exactly as the columns writer writes them from the states themselves.
    const fromNumbers = numbers.writer(2);
    fromNumbers.set(0, states, 0);
    fromNumbers.set(1, states, 4);
    const fromValues = agg.columns!.writer(2);
    fromValues.set(0, agg.init());
    fromValues.set(1, fold(agg, events));
    expect(JSON.stringify(fromNumbers.done(2))).toBe(JSON.stringify(fromValues.done(2)));
    // A restored state is stored as numbers.
    numbers.store(states, 8, fold(agg, events.slice(1)));
    expect(numbers.result(states, 8)).toEqual(agg.result(fold(agg, events.slice(1))));
    // distinct and topK states are not numbers: neither is a combine with them.
    expect(combine({ n: count<Ev>(), users: distinct((e: Ev) => e.user) }).numbers).toBeUndefined();
    expect(topK((e: Ev) => e.page, 2).numbers).toBeUndefined();
  });

  it('AggregateResult maps a record of aggregators to their results', () => {
    type R = AggregateResult<{ a: Aggregator<Ev, number, number>; b: Aggregator<Ev, Set<string>, string[]> }>;
    expectTypeOf<R>().toEqualTypeOf<{ a: number; b: string[] }>();
  });
});
