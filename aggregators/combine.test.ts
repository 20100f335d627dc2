import { describe, expect, expectTypeOf, it } from 'vitest';
import { of } from 'rxjs';
import type { Observable } from 'rxjs';
import { combine, count, distinct, max, min, sum, topK } from './combine.ts';
import type { AggregateResult, Aggregator } from './combine.ts';
import { hopping } from '../operators/hopping.ts';
import { session } from '../operators/session.ts';
import { tumbling } from '../operators/tumbling.ts';
import type { WindowResult } from '../windows/window-types.ts';

interface Ev {
  readonly user: string;
  readonly page?: string;
  readonly price?: number;
  readonly ts: number;
}

const events: Ev[] = [
  { user: 'a', page: '/x', price: 3, ts: 1 },
  { user: 'b', page: '/y', ts: 2 },
  { user: 'a', page: '/y', price: -1, ts: 3 },
  { user: 'c', ts: 4 },
  { user: 'b', page: '/x', price: 10, ts: 5 },
  { user: 'c', page: '/z', ts: 6 },
];

function fold<T, S, R>(agg: Aggregator<T, S, R>, input: readonly T[]): S {
  let state = agg.init();
  for (const e of input) state = agg.add(state, e);
  return state;
}

/** result(fold(all)) == result(merge(fold(left), fold(right))) and the state survives a JSON round trip. */
function checkLaws<T, S, R>(agg: Aggregator<T, S, R>, input: readonly T[]): R {
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

describe('aggregators', () => {
  it('count, optionally filtered', () => {
    expect(checkLaws(count<Ev>(), events)).toBe(6);
    expect(
      checkLaws(
        count((e: Ev) => e.user === 'a'),
        events,
      ),
    ).toBe(2);
    expect(count().result(count().init())).toBe(0);
  });

  it('sum skips undefined', () => {
    expect(
      checkLaws(
        sum((e: Ev) => e.price),
        events,
      ),
    ).toBe(12);
    expect(sum((e: Ev) => e.price).result(sum((e: Ev) => e.price).init())).toBe(0);
  });

  it('min and max are null when empty and survive JSON when empty', () => {
    expect(
      checkLaws(
        min((e: Ev) => e.price),
        events,
      ),
    ).toBe(-1);
    expect(
      checkLaws(
        max((e: Ev) => e.price),
        events,
      ),
    ).toBe(10);
    const m = max((e: Ev) => e.price);
    expect(m.result(m.init())).toBeNull();
    expect(m.result(m.fromJSON(JSON.parse(JSON.stringify(m.toJSON(m.init())))))).toBeNull();
    expect(m.result(fold(m, [{ user: 'a', ts: 1 }]))).toBeNull();
  });

  it('distinct counts exact distinct values, skipping undefined, keeping 1 and "1" apart', () => {
    expect(
      checkLaws(
        distinct((e: Ev) => e.user),
        events,
      ),
    ).toBe(3);
    expect(
      checkLaws(
        distinct((e: Ev) => e.page),
        events,
      ),
    ).toBe(3);
    const mixed = distinct((v: string | number) => v);
    expect(checkLaws(mixed, [1, '1', 1, 2])).toBe(3);
  });

  it('distinct restores checkpoints that hold the values themselves (before fingerprints)', () => {
    const users = distinct((e: Ev) => e.user);
    const restored = users.fromJSON(['a', 'b']);
    expect(users.result(restored)).toBe(2);
    expect(users.result(fold(users, events))).toBe(users.result(events.reduce((s, e) => users.add(s, e), restored)));
    expect(() => users.fromJSON({ fingerprints: 'AAAA' })).toThrow(/truncated/);
    expect(() => users.fromJSON([{}])).toThrow(/expected/);
  });

  it('topK sorts by count desc then key asc and truncates to k', () => {
    const top = topK((e: Ev) => e.page, 2);
    expect(checkLaws(top, events)).toEqual([
      { key: '/x', count: 2 },
      { key: '/y', count: 2 },
    ]);
    expect(
      checkLaws(
        topK((e: Ev) => e.user, 10),
        [...events, { user: 'c', ts: 7 }],
      ),
    ).toEqual([
      { key: 'c', count: 3 },
      { key: 'a', count: 2 },
      { key: 'b', count: 2 },
    ]);
    // The result is a copy: later adds do not change an emitted result.
    const state = fold(top, events);
    const result = top.result(state);
    top.add(state, { user: 'z', page: '/z', ts: 9 });
    expect(result).toEqual([
      { key: '/x', count: 2 },
      { key: '/y', count: 2 },
    ]);
    expect(() => topK((e: Ev) => e.page, 0)).toThrow(/k must be/);
  });

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
    expect(typeof json.n).toBe('string'); // float64s as base64
    const restored = columns.fromColumns(json, states.length);
    // Empty min/max (±Infinity) and inexact sums (0.1 + 0.2) come back as they were.
    expect(restored.map((s) => agg.result(s))).toEqual(states.map((s) => agg.result(s)));
    expect(restored.map((s) => JSON.stringify(agg.toJSON(s)))).toEqual(states.map((s) => JSON.stringify(agg.toJSON(s))));
    expect(() => columns.fromColumns(json, 3)).toThrow(/expected 3 states, got 4/);
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

  it('infers event, key and result types inside pipe() without annotations', () => {
    const source: Observable<Ev> = of();
    const byPage = source.pipe(tumbling({ sizeMs: 10, time: (e) => e.ts, key: (e) => e.page ?? '', aggregate: count() }));
    expectTypeOf(byPage).toEqualTypeOf<Observable<WindowResult<string, number>>>();

    // A shared, pre-typed time extractor (as pipelines spread it) must not pin T to { ts: number }.
    const eventTime = { time: (e: { ts: number }) => e.ts, maxOutOfOrderMs: 5 };
    const users = source.pipe(
      hopping({ sizeMs: 10, slideMs: 5, key: (e) => e.user, aggregate: combine({ users: distinct((e: Ev) => e.user) }), ...eventTime }),
    );
    expectTypeOf(users).toEqualTypeOf<Observable<WindowResult<string, { users: number }>>>();

    const global = source.pipe(tumbling({ sizeMs: 10, aggregate: topK((e: Ev) => e.page, 3), ...eventTime }));
    expectTypeOf(global).toEqualTypeOf<Observable<WindowResult<string, Array<{ readonly key: string; readonly count: number }>>>>();

    const sessions = source.pipe(session({ gapMs: 10, time: (e) => e.ts, key: (e) => e.ts % 2, aggregate: max((e: Ev) => e.price) }));
    expectTypeOf(sessions).toEqualTypeOf<Observable<WindowResult<number, number | null>>>();
  });
});
