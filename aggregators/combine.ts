import type { Aggregator, NumberStates, PaneAggregation, PaneState, StateColumns } from './aggregator.ts';

/** The result type of each aggregator in a record: `{ a: count(), b: topK(...) }` → `{ a: number; b: Array<...> }`. */
export type AggregateResult<A> = { [P in keyof A]: A[P] extends Aggregator<never, unknown, infer R> ? R : never };

/** The state type of each aggregator in a record. */
export type AggregateState<A> = { [P in keyof A]: A[P] extends Aggregator<never, infer S, unknown> ? S : never };

/** The state of `combine(aggregators)`: opaque (the members' states, in an order of its own). */
export type CombinedState<A> = readonly unknown[] & { readonly __combined?: AggregateState<A> };

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
    ...(parts.every((p) => p.panes !== undefined)
      ? {
          panes: combinedPanes(
            names,
            parts.map((p) => p.panes!),
          ) as unknown as PaneAggregation<T, AggregateResult<A>>,
        }
      : {}),
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

/** `combine`'s panes when every member has them: the members' panes side by side. */
function combinedPanes(names: readonly string[], parts: ReadonlyArray<PaneAggregation<unknown, unknown>>): PaneAggregation<unknown, Record<string, unknown>> {
  const n = parts.length;
  const results = paneRecordBuilder(names);
  const wrap = (members: Array<PaneState<unknown, unknown>>): PaneState<unknown, Record<string, unknown>> => ({
    add: (pane, firstWindow, e) => {
      for (let i = 0; i < n; i++) members[i]!.add(pane, firstWindow, e);
    },
    result: (first) => results(members, first),
    forget: (before) => {
      for (let i = 0; i < n; i++) members[i]!.forget(before);
    },
    toJSON: () => Object.fromEntries(names.map((name, i) => [name, members[i]!.toJSON()])),
  });
  return {
    fits: (span, horizon) => parts.every((p) => p.fits(span, horizon)),
    create: (span) => wrap(parts.map((p) => p.create(span))),
    restore: (json, span) => wrap(parts.map((p, i) => p.restore(member(json, names[i]!), span))),
  };
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

/** `recordBuilder` over pane states: `({ name0: members[0].result(first), ... })`. */
function paneRecordBuilder(names: readonly string[]): (members: ReadonlyArray<PaneState<unknown, unknown>>, first: number) => Record<string, unknown> {
  const fields = names.map((name, i) => `${literalKey(name)}: members[${i}].result(first)`);
  return new Function('members', 'first', `return { ${fields.join(', ')} };`) as (
    members: ReadonlyArray<PaneState<unknown, unknown>>,
    first: number,
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
