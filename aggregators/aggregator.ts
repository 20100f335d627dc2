/**
 * Incremental aggregations for the window operators.
 *
 * An aggregator folds events into a state (`add` may mutate and return the same state), merges two
 * states (session windows merging), reads a result, and converts its state to and from JSON for
 * checkpoints. States are plain numbers, typed-array sets and Maps, so folding an event allocates nothing.
 */

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
  /** Optional: hopping windows' states kept per pane (see {@link PaneAggregation}). */
  readonly panes?: PaneAggregation<T, R>;
}

/**
 * Hopping windows of one key, folded once per event: the windows of `span` slides each overlap, so
 * an event lies in `span` of them, and folding it into each window's state costs `span` adds (a
 * 5-minute window every minute: five `distinct` inserts, each a cache miss in a large set). With
 * panes, an event is folded once, into the state of its slide (its pane), and a window's result is
 * read off the `span` panes it covers. Panes are numbered `floor(time / slide)`, windows by their
 * first pane.
 */
export interface PaneAggregation<T, R> {
  /**
   * Whether windows of `span` panes fit, when an event may arrive up to `horizon` panes before the
   * latest pane of its key. When not, the window operator keeps a state per window.
   */
  fits(span: number, horizon: number): boolean;
  /** The panes of one key's windows of `span` panes, empty. */
  create(span: number): PaneState<T, R>;
  /** The inverse of `PaneState.toJSON`. */
  restore(json: unknown, span: number): PaneState<T, R>;
}

export interface PaneState<T, R> {
  /**
   * Fold an event of pane `pane` in, for the windows that contain it and start at `firstWindow` or
   * later (earlier ones are closed: the window operator passes the first still open).
   */
  add(pane: number, firstWindow: number, event: T): void;
  /** The result of the window whose first pane is `first`. Must not expose state a later `add` mutates. */
  result(first: number): R;
  /** Windows starting before pane `before` are closed for good: drop what only they needed. */
  forget(before: number): void;
  /** JSON-serializable and not shared with the state, as `Aggregator.toJSON`. */
  toJSON(): unknown;
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
