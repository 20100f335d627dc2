/**
 * What the aggregators whose state is one number (`count`, `sum`, `min`, `max`) share: the same
 * functions over states kept in a typed array (`NumberStates`), the states as one checkpoint
 * column, and the check of a restored state.
 */
import { float64Column } from '../state/snapshot-buffers.ts';
import { decodeColumn, float64s, isEncodedColumn, TypedColumn } from '../state/typed-columns.ts';
import type { Aggregator, NumberStates, StateColumns } from './aggregator.ts';
import { statesByPane } from './pane-states.ts';

/**
 * An aggregator whose state is one number, with the same functions over a typed array: what
 * `count`, `sum`, `min` and `max` are. Their states are numbers, so a hopping window's panes
 * merge by value (`statesByPane`).
 */
export function withNumbers<T, R>(agg: Omit<Aggregator<T, number, R>, 'numbers'> & { readonly columns: StateColumns<number> }): Aggregator<T, number, R> {
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
  return { ...agg, numbers, panes: statesByPane(agg) };
}

/** Numeric states as one typed column of float64s: exact, ±Infinity included. */
export function numberColumns(name: string): StateColumns<number> {
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

export function expectNumber(name: string, json: unknown): number {
  if (typeof json !== 'number') throw new Error(`${name}: expected a number, got ${typeof json}`);
  return json;
}
