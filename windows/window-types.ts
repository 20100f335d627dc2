/**
 * The types every window operator and engine shares: what a window emits, and which kind of
 * window operator it is (the kind names its default ids and errors, and tags its snapshots).
 */

/** One emission of a window. */
export interface WindowResult<K, A> {
  key: K;
  /** Inclusive window start, epoch ms (sessions: first event time). */
  start: number;
  /** Exclusive window end, epoch ms (sessions: last event time + gap). */
  end: number;
  value: A;
  /** Events folded into the window so far: grows with every emission of the window, usable as a row version. */
  count: number;
  /** True for the last emission of the window (its state is dropped after it). */
  final: boolean;
}

export type WindowKind = 'tumbling' | 'hopping' | 'session';
