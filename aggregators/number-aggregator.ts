/**
 * What the aggregators whose state is one number (`count`, `sum`, `min`, `max`) share: the same
 * functions over states kept in a typed array (`NumberStates`), the states as one checkpoint
 * column, and the check of a restored state.
 */
import { decodeNumberColumn, NumberColumnWriter } from '../state/number-column.ts';
import { isEncodedColumn } from '../state/typed-columns.ts';
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

/**
 * Numeric states as one typed column: uint32s while they are whole numbers that fit (a `count`'s),
 * else float64s, exact, ±Infinity included (state/number-column.ts).
 */
export function numberColumns(name: string): StateColumns<number> {
  return {
    writer: (capacity) => new NumberColumnWriter(capacity),
    fromColumns: (json, length) => {
      if (!isEncodedColumn(json)) throw new Error(`${name}: expected a typed column`);
      return Array.from(decodeNumberColumn(json, length, `${name}: expected ${length} states`));
    },
  };
}

export function expectNumber(name: string, json: unknown): number {
  if (typeof json !== 'number') throw new Error(`${name}: expected a number, got ${typeof json}`);
  return json;
}
