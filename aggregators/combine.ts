/**
 * Incremental aggregations for the window operators.
 *
 * An aggregator folds events into a state (`add` may mutate and return the same state), merges two
 * states (session windows merging), reads a result, and converts its state to and from JSON for
 * checkpoints. States are plain numbers, typed-array sets and Maps, so folding an event allocates nothing.
 */
import { fingerprintValue } from '../state/fingerprint.ts';
import { FingerprintSet } from '../state/fingerprint-set.ts';
import { float64Column } from '../state/snapshot-buffers.ts';
import { TypedColumn, decodeColumn, float64s, isEncodedColumn, uint32s } from '../state/typed-columns.ts';

export interface Aggregator<T, S, R> {
  /** A fresh, empty state. */
  init(): S;
  /** Fold one event in. May mutate `state` and return it. */
  add(state: S, event: T): S;
  /** Combine two states (session windows merging). May mutate and return `a`; `b` is discarded. */
  merge(a: S, b: S): S;
  /** The current result. Must not expose state that a later `add` mutates. */
  result(state: S): R;
  /**
   * A JSON-serializable form of the state, for checkpoints. Must not share anything a later `add`
   * or `merge` mutates: a snapshot is serialized after its cut, while events keep arriving.
   */
  toJSON(state: S): unknown;
  /** The inverse of `toJSON`. */
  fromJSON(json: unknown): S;
  /** Optional: many states at once, by column (see {@link StateColumns}). */
  readonly columns?: StateColumns<S>;
  /** Optional: states that are a few numbers each, kept in a typed array (see {@link NumberStates}). */
  readonly numbers?: NumberStates<T, S, R>;
}

/**
 * States of `width` numbers each (`count`, `sum`, `min`, `max` and `combine`s of them), kept by a
 * window operator that holds very many (sessions: one per active user) in one Float64Array, the
 * state at `at` taking `states[at]` to `states[at + width - 1]`: no JS value per state for the GC to
 * trace, and a checkpoint copies numbers. Same semantics as the aggregator's own functions.
 */
export interface NumberStates<T, S, R> {
  readonly width: number;
  init(states: Float64Array, at: number): void;
  add(states: Float64Array, at: number, event: T): void;
  /** Fold the state at `from` into the one at `into` (session windows merging). */
  merge(states: Float64Array, into: number, from: number): void;
  result(states: Float64Array, at: number): R;
  /** Write a state as the aggregator makes it (`init`, `fromJSON`, `columns`) at `at` (restoring). */
  store(states: Float64Array, at: number, state: S): void;
  /** Checkpoint columns filled from states in place: the same JSON as the `columns` writer's. */
  writer(capacity: number): NumberStateWriter;
}

export interface NumberStateWriter {
  /** Copy the state at `at` into row `index`, now: the state keeps changing after the cut. */
  set(index: number, states: Float64Array, at: number): void;
  done(length: number): unknown;
}

/**
 * Many states of one aggregator as columns of a checkpoint, for the window operators, which hold a
 * state per window (a session per active user): copying numbers into a typed array costs the
 * synchronous cut and the serialization far less than a JSON value (an object, for `combine`) per state.
 */
export interface StateColumns<S> {
  /**
   * Columns for up to `capacity` states, filled while the window operator walks its windows (one
   * pass over them: the states are scattered in memory).
   */
  writer(capacity: number): StateColumnWriter<S>;
  /** The inverse of the writer's `done`: `length` states. */
  fromColumns(json: unknown, length: number): S[];
}

export interface StateColumnWriter<S> {
  /** Copy `state` into row `index`, now: the state keeps changing after the cut. */
  set(index: number, state: S): void;
  /** The first `length` rows, JSON-serializable. */
  done(length: number): unknown;
}

/** The result type of each aggregator in a record: `{ a: count(), b: topK(...) }` → `{ a: number; b: Array<...> }`. */
export type AggregateResult<A> = { [P in keyof A]: A[P] extends Aggregator<never, unknown, infer R> ? R : never };

/** The state type of each aggregator in a record. */
export type AggregateState<A> = { [P in keyof A]: A[P] extends Aggregator<never, infer S, unknown> ? S : never };

/** The state of `combine(aggregators)`: opaque (the members' states, in an order of its own). */
export type CombinedState<A> = readonly unknown[] & { readonly __combined?: AggregateState<A> };

/** One entry of a {@link topK} result. */
export interface TopKEntry {
  readonly key: string;
  readonly count: number;
}

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

/**
 * Smallest value; `undefined` and NaN are skipped. Empty → `null`.
 * @example `min((e: Purchase) => e.price)`
 */
export function min<T>(value: (event: T) => number | undefined): Aggregator<T, number, number | null> {
  return extreme('min', value, Infinity, (a, b) => Math.min(b, a));
}

/**
 * Largest value; `undefined` and NaN are skipped. Empty → `null`.
 * @example `max((e: Purchase) => e.price)`
 */
export function max<T>(value: (event: T) => number | undefined): Aggregator<T, number, number | null> {
  return extreme('max', value, -Infinity, (a, b) => Math.max(b, a));
}

function extreme<T>(
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

/**
 * Number of distinct values; `undefined` is skipped. Exact up to 64-bit fingerprint collisions, as
 * ClickHouse's `uniqExact` is up to its hash's: values are remembered by fingerprint (8 bytes
 * each, in a typed array), and two different values count once with probability ~2^-64 per pair
 * (for a million distinct values in one window, about one window in 3·10^7 is one short).
 * Memory grows with the number of distinct values.
 * @example `distinct((e: ClickEvent) => e.user_id)`
 */
export function distinct<T>(value: (event: T) => string | number | undefined): Aggregator<T, FingerprintSet, number> {
  return {
    init: () => new FingerprintSet(),
    add: (set, e) => {
      const v = value(e);
      if (v === undefined) return set;
      const fp = fingerprintValue(v);
      set.add(fp[0]!, fp[1]!);
      return set;
    },
    merge: (a, b) => {
      a.addAll(b);
      return a;
    },
    result: (set) => set.size,
    toJSON: (set) => ({ fingerprints: new TypedColumn(set.toPairs()) }),
    fromJSON: (json) => {
      const fingerprints = typeof json === 'object' && json !== null ? (json as { fingerprints?: unknown }).fingerprints : undefined;
      if (isEncodedColumn(fingerprints)) {
        const pairs = decodeColumn(fingerprints, uint32s, 4, 'distinct: truncated fingerprints');
        if (pairs.length % 2 !== 0) throw new Error('distinct: truncated fingerprints');
        return FingerprintSet.fromPairs(pairs);
      }
      // Checkpoints from before fingerprints: the values themselves.
      if (!Array.isArray(json) || !json.every((v) => typeof v === 'string' || typeof v === 'number')) {
        throw new Error('distinct: expected { fingerprints } or an array of strings and numbers');
      }
      const set = new FingerprintSet(json.length);
      for (const v of json as Array<string | number>) {
        const fp = fingerprintValue(v);
        set.add(fp[0]!, fp[1]!);
      }
      return set;
    },
  };
}

/**
 * The `k` most frequent values with their exact counts, sorted by count descending then key ascending;
 * `undefined` is skipped. Exact: memory grows with the number of distinct values.
 * @example `topK((e: ClickEvent) => (e.type === 'page_view' ? e.url : undefined), 10)`
 */
export function topK<T>(value: (event: T) => string | undefined, k: number): Aggregator<T, Map<string, Counter>, TopKEntry[]> {
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`topK: k must be an integer >= 1, got ${k}`);
  const addCount = (counts: Map<string, Counter>, v: string, n: number): void => {
    const counter = counts.get(v);
    if (counter === undefined) counts.set(v, { n });
    else counter.n += n;
  };
  return {
    init: () => new Map(),
    add: (counts, e) => {
      const v = value(e);
      if (v !== undefined) addCount(counts, v, 1);
      return counts;
    },
    merge: (a, b) => {
      for (const [v, { n }] of b) addCount(a, v, n);
      return a;
    },
    result: (counts) => {
      const entries: TopKEntry[] = [];
      for (const [key, { n }] of counts) entries.push({ key, count: n });
      entries.sort(byCountThenKey);
      if (entries.length > k) entries.length = k;
      return entries;
    },
    toJSON: (counts) => Array.from(counts, ([v, { n }]) => [v, n]),
    fromJSON: (json) => {
      if (!Array.isArray(json) || !json.every((e) => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number')) {
        throw new Error('topK: expected an array of [string, number] pairs');
      }
      const counts = new Map<string, Counter>();
      for (const [v, n] of json as Array<[string, number]>) addCount(counts, v, n);
      return counts;
    },
  };
}

/** A count held in an object, so counting an existing key is one Map lookup, not a get and a set. */
interface Counter {
  n: number;
}

function byCountThenKey(a: TopKEntry, b: TopKEntry): number {
  return b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/**
 * Run several aggregators over the same events; the result is a record of their results.
 *
 * @example
 * ```ts
 * combine({ views: count((e: ClickEvent) => e.type === 'page_view'), users: distinct((e: ClickEvent) => e.user_id) })
 * // Aggregator<ClickEvent, ..., { views: number; users: number }>
 * ```
 */
export function combine<T, A extends Record<string, Aggregator<T, unknown, unknown>>>(aggregators: A): Aggregator<T, CombinedState<A>, AggregateResult<A>> {
  const names = Object.keys(aggregators);
  // Method bivariance lets every member be called with its own state.
  const parts = names.map((name) => aggregators[name] as unknown as Aggregator<T, unknown, unknown>);
  const n = parts.length;
  // The state is an array in `names` order, not a record: indexed element access stays fast where
  // a record's keyed access by a variable name is a generic (megamorphic) lookup per member per event.
  type State = unknown[];
  const results = recordBuilder(names, 'result');
  const snapshots = recordBuilder(names, 'toJSON');
  return {
    init: () => {
      const state: State = new Array<unknown>(n);
      for (let i = 0; i < n; i++) state[i] = parts[i]!.init();
      return state as CombinedState<A>;
    },
    add: (state, e) => {
      const s = state as State;
      for (let i = 0; i < n; i++) s[i] = parts[i]!.add(s[i], e);
      return state;
    },
    merge: (a, b) => {
      const sa = a as State;
      const sb = b as State;
      for (let i = 0; i < n; i++) sa[i] = parts[i]!.merge(sa[i], sb[i]);
      return a;
    },
    result: (state) => results(state as State, parts) as AggregateResult<A>,
    // Checkpoints keep the record form: readable, and independent of member order.
    toJSON: (state) => snapshots(state as State, parts),
    fromJSON: (json) => {
      const state: State = new Array<unknown>(n);
      for (let i = 0; i < n; i++) state[i] = parts[i]!.fromJSON(member(json, names[i]!));
      return state as CombinedState<A>;
    },
    ...(parts.every((p) => p.columns !== undefined) ? { columns: combinedColumns(names, parts) as StateColumns<CombinedState<A>> } : {}),
    ...(parts.every((p) => p.numbers !== undefined)
      ? {
          numbers: combinedNumbers(
            names,
            parts.map((p) => p.numbers!),
          ) as unknown as NumberStates<T, CombinedState<A>, AggregateResult<A>>,
        }
      : {}),
  };
}

/** `combine`'s number states when every member has them: the members' numbers side by side. */
function combinedNumbers(
  names: readonly string[],
  parts: ReadonlyArray<NumberStates<unknown, unknown, unknown>>,
): NumberStates<unknown, unknown[], Record<string, unknown>> {
  const n = parts.length;
  const offsets: number[] = [];
  let width = 0;
  for (const p of parts) {
    offsets.push(width);
    width += p.width;
  }
  const results = numberRecordBuilder(names, offsets);
  return {
    width,
    init: (states, at) => {
      for (let i = 0; i < n; i++) parts[i]!.init(states, at + offsets[i]!);
    },
    add: (states, at, e) => {
      for (let i = 0; i < n; i++) parts[i]!.add(states, at + offsets[i]!, e);
    },
    merge: (states, into, from) => {
      for (let i = 0; i < n; i++) parts[i]!.merge(states, into + offsets[i]!, from + offsets[i]!);
    },
    result: (states, at) => results(states, at, parts),
    store: (states, at, state) => {
      for (let i = 0; i < n; i++) parts[i]!.store(states, at + offsets[i]!, state[i]);
    },
    writer: (capacity) => {
      const writers = parts.map((p) => p.writer(capacity));
      return {
        set: (index, states, at) => {
          for (let i = 0; i < n; i++) writers[i]!.set(index, states, at + offsets[i]!);
        },
        // As `combinedColumns` writes them: a checkpoint reads the same either way.
        done: (length) => membersDone(names, writers, length),
      };
    },
  };
}

/**
 * An aggregator whose state is one number, with the same functions over a typed array: what
 * `count`, `sum`, `min` and `max` are.
 */
function withNumbers<T, R>(agg: Omit<Aggregator<T, number, R>, 'numbers'> & { readonly columns: StateColumns<number> }): Aggregator<T, number, R> {
  const { init, add, merge, result, columns } = agg;
  const numbers: NumberStates<T, number, R> = {
    width: 1,
    init: (states, at) => {
      states[at] = init();
    },
    add: (states, at, e) => {
      states[at] = add(states[at]!, e);
    },
    merge: (states, into, from) => {
      states[into] = merge(states[into]!, states[from]!);
    },
    result: (states, at) => result(states[at]!),
    store: (states, at, state) => {
      states[at] = state;
    },
    writer: (capacity) => {
      const writer = columns.writer(capacity);
      return {
        set: (index, states, at) => writer.set(index, states[at]!),
        done: (length) => writer.done(length),
      };
    },
  };
  return { ...agg, numbers };
}

/** `combine`'s columns when every member has columns: a record of the members' columns. */
function combinedColumns(names: readonly string[], parts: ReadonlyArray<Aggregator<unknown, unknown, unknown>>): StateColumns<unknown[]> {
  return {
    writer: (capacity) => {
      const writers = parts.map((p) => p.columns!.writer(capacity));
      const n = writers.length;
      return {
        set: (index, state) => {
          for (let i = 0; i < n; i++) writers[i]!.set(index, state[i]);
        },
        done: (length) => membersDone(names, writers, length),
      };
    },
    fromColumns: (json, length) => {
      const states = Array.from({ length }, () => new Array<unknown>(names.length));
      for (let i = 0; i < names.length; i++) {
        const column = parts[i]!.columns!.fromColumns(member(json, names[i]!), length);
        for (let j = 0; j < length; j++) states[j]![i] = column[j];
      }
      return states;
    },
  };
}

/** Member `name` of a combined state's JSON (an own property, also when it is `__proto__`). */
function member(json: unknown, name: string): unknown {
  if (typeof json !== 'object' || json === null) throw new Error('combine: expected an object');
  if (!Object.hasOwn(json, name)) throw new Error(`combine: missing state for '${name}'`);
  return Object.getOwnPropertyDescriptor(json, name)!.value as unknown;
}

/** Numeric states as one typed column of float64s: exact, ±Infinity included. */
function numberColumns(name: string): StateColumns<number> {
  return {
    writer: (capacity) => {
      const column = float64Column(capacity);
      return {
        set: (index, state) => {
          column[index] = state;
        },
        done: (length) => new TypedColumn(column.subarray(0, length)),
      };
    },
    fromColumns: (json, length) => {
      if (!isEncodedColumn(json)) throw new Error(`${name}: expected a typed column`);
      const column = decodeColumn(json, float64s, 8, `${name}: truncated column`);
      if (column.length !== length) throw new Error(`${name}: expected ${length} states, got ${column.length}`);
      return Array.from(column);
    },
  };
}

/**
 * `(state, parts) => ({ name0: parts[0][method](state[0]), ... })`, generated once per `combine`:
 * one object literal of a fixed shape, where a loop of stores keyed by a variable name is a
 * generic lookup per member (a session snapshot took 1.1 µs per session that way).
 */
function recordBuilder(
  names: readonly string[],
  method: 'result' | 'toJSON',
): (state: unknown[], parts: ReadonlyArray<Aggregator<unknown, unknown, unknown>>) => Record<string, unknown> {
  const fields = names.map((name, i) => `${literalKey(name)}: parts[${i}].${method}(state[${i}])`);
  return new Function('state', 'parts', `return { ${fields.join(', ')} };`) as (
    state: unknown[],
    parts: ReadonlyArray<Aggregator<unknown, unknown, unknown>>,
  ) => Record<string, unknown>;
}

/** `recordBuilder` over number states: `({ name0: parts[0].result(states, at + offset0), ... })`. */
function numberRecordBuilder(
  names: readonly string[],
  offsets: readonly number[],
): (states: Float64Array, at: number, parts: ReadonlyArray<NumberStates<unknown, unknown, unknown>>) => Record<string, unknown> {
  const fields = names.map((name, i) => `${literalKey(name)}: parts[${i}].result(states, at + ${offsets[i]!})`);
  return new Function('states', 'at', 'parts', `return { ${fields.join(', ')} };`) as (
    states: Float64Array,
    at: number,
    parts: ReadonlyArray<NumberStates<unknown, unknown, unknown>>,
  ) => Record<string, unknown>;
}

/** `name` as a key of a generated object literal: a literal's `"__proto__": v` would set the prototype; the computed form defines the property. */
function literalKey(name: string): string {
  return name === '__proto__' ? `[${JSON.stringify(name)}]` : JSON.stringify(name);
}

/** A `combine`'s checkpoint columns: each member's, under its name (fromEntries defines properties: a member named `__proto__` stays a member). */
function membersDone(names: readonly string[], writers: ReadonlyArray<{ done(length: number): unknown }>, length: number): unknown {
  return Object.fromEntries(names.map((name, i) => [name, writers[i]!.done(length)]));
}

function expectNumber(name: string, json: unknown): number {
  if (typeof json !== 'number') throw new Error(`${name}: expected a number, got ${typeof json}`);
  return json;
}
