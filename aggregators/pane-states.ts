import type { Aggregator, PaneAggregation, PaneState } from './aggregator.ts';

/**
 * Panes for an aggregator whose states are small (a number, a few dozen counters): a state per
 * pane, and a window's result from its panes' states merged into a fresh one when it is emitted.
 * `agg.merge(a, b)` must leave `b` as it is and keep no reference into it (the pane stays).
 */
export function statesByPane<T, S, R>(agg: Omit<Aggregator<T, S, R>, 'panes'>): PaneAggregation<T, R> {
  return {
    fits: () => true,
    create: (span) => new StatesByPane(agg, span),
    restore: (json, span) => {
      if (!Array.isArray(json) || !json.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'number')) {
        throw new Error('cannot restore panes: expected an array of [pane, state] pairs');
      }
      const panes = new StatesByPane(agg, span);
      for (const [pane, state] of json as Array<[number, unknown]>) panes.states.set(pane, agg.fromJSON(state));
      return panes;
    },
  };
}

class StatesByPane<T, S, R> implements PaneState<T, R> {
  /** By pane. */
  readonly states = new Map<number, S>();

  constructor(
    private readonly agg: Omit<Aggregator<T, S, R>, 'panes'>,
    private readonly span: number,
  ) {}

  add(pane: number, _firstWindow: number, event: T): void {
    const state = this.states.get(pane);
    const next = this.agg.add(state === undefined ? this.agg.init() : state, event);
    if (next !== state) this.states.set(pane, next);
  }

  result(first: number): R {
    let acc = this.agg.init();
    for (let pane = first; pane < first + this.span; pane++) {
      const state = this.states.get(pane);
      if (state !== undefined) acc = this.agg.merge(acc, state);
    }
    return this.agg.result(acc);
  }

  forget(before: number): void {
    for (const pane of this.states.keys()) if (pane < before) this.states.delete(pane);
  }

  toJSON(): unknown {
    return Array.from(this.states, ([pane, state]) => [pane, this.agg.toJSON(state)]);
  }
}
