/**
 * The checkpointed state of a window operator (fixed windows and sessions alike), and how a
 * snapshot is decoded.
 */
import type { Aggregator, NumberStates, NumberStateWriter } from '../aggregators/aggregator.ts';
import { keysFromColumns, type TakenKeyColumns } from '../state/key-arena.ts';
import { decodeNumberColumn, NumberColumnWriter } from '../state/number-column.ts';
import { float64Column, uint8Column, uint32Column } from '../state/snapshot-buffers.ts';
import { decodeTimeColumn, TimeColumnWriter } from '../state/time-column.ts';
import { decodeColumn, type EncodedColumn, float64s, isEncodedColumn, type Taken, TypedColumn, uint8s, uint32s } from '../state/typed-columns.ts';
import type { WindowKind } from './window-types.ts';

/**
 * The checkpointed state of a window operator, by column: one entry per key in `keys` and
 * `windowCounts` (keys in first-seen order), one entry per window, key by key, in the others.
 * Numeric columns are typed arrays (see state/typed-columns.ts), and the aggregator states are
 * columns too when the aggregator has them (`count`, `sum`, `min`, `max` and `combine`s of them):
 * a session operator holds a window per active user, and taking the snapshot is part of a
 * synchronous, consistent cut, where copying numbers costs far less than an object per window.
 */
export interface WindowSnapshot {
  readonly kind: WindowKind;
  readonly maxTime: number | null;
  readonly watermark: number | null;
  /** As values (fixed windows), or as columns (sessions, whose keys are bytes in a `KeyArena`). */
  readonly keys: ReadonlyArray<string | number> | KeyColumns;
  /** How many of the windows below belong to each key: uint32s. */
  readonly windowCounts: EncodedColumn;
  /** Times from `startsFrom` (state/time-column.ts); float64s in checkpoints of builds before it. */
  readonly starts: EncodedColumn;
  readonly startsFrom?: number;
  /**
   * Each window's end less its start, uint32s (a window's size, a session's length), while every
   * one is a whole number of ms that gives the end back exactly...
   */
  readonly durations?: EncodedColumn;
  /** ...else the ends, float64s (and in checkpoints of builds before `durations`). */
  readonly ends?: EncodedColumn;
  /** Events folded into each window: uint32s, or float64s when one is 2^32 or more (state/number-column.ts). */
  readonly counts: EncodedColumn;
  /** Bit 1: changed since its last emission; bit 2: emitted at least once. uint8s. */
  readonly flags: EncodedColumn;
  /** Aggregator states, from the aggregator's `columns` writer, when it has columns... */
  readonly accColumns?: unknown;
  /** ...else one per window, via `aggregate.toJSON`... */
  readonly accs?: readonly unknown[];
  /**
   * ...or, for hopping windows, each key's panes (`PaneState.toJSON`), null for a key whose windows
   * keep a state each (restored from a build without panes); when no key is null, no state per window.
   */
  readonly panes?: readonly unknown[];
  /** Sessions only: keys and ends (times from `closedEndsFrom`, as `starts`) of recently purged sessions, in purge order (see `closedUntil` in session-engine.ts). */
  readonly closedKeys?: ReadonlyArray<string | number> | KeyColumns;
  readonly closedEnds?: EncodedColumn;
  readonly closedEndsFrom?: number;
}

/** Keys as columns: their UTF-8 bytes back to back (uint8s), each one's byte length (uint32s), and, when some key is a number, which ones (uint8s, 1 for a number). */
export interface KeyColumns {
  readonly utf8: EncodedColumn;
  readonly lengths: EncodedColumn;
  readonly numbers?: EncodedColumn;
}

export type TakenWindowSnapshot = Omit<
  Taken<WindowSnapshot, 'windowCounts' | 'starts' | 'durations' | 'ends' | 'counts' | 'flags' | 'closedEnds'>,
  'keys' | 'closedKeys'
> & {
  readonly keys: ReadonlyArray<string | number> | TakenKeyColumns;
  readonly closedKeys?: ReadonlyArray<string | number> | TakenKeyColumns;
};

/** A snapshot's columns, decoded, with the aggregator states restored. */
interface RestoredColumns<S> {
  readonly keys: ReadonlyArray<string | number>;
  readonly windowCounts: ArrayLike<number>;
  readonly starts: ArrayLike<number>;
  readonly ends: ArrayLike<number>;
  readonly counts: ArrayLike<number>;
  readonly flags: ArrayLike<number>;
  /** Empty when every window's key kept its states per pane; else undefined for those windows. */
  readonly states: readonly S[];
  readonly panes: readonly unknown[] | undefined;
  readonly closedKeys: ReadonlyArray<string | number>;
  readonly closedEnds: ArrayLike<number>;
}

export const DIRTY = 1;
export const EMITTED = 2;

/**
 * Fills a snapshot's columns window by window, closing each key's run with `key`. Sized up front
 * and filled by index: a snapshot is taken inside a synchronous cut.
 */
export class SnapshotBuilder<S> {
  /** Keys given to `key`: none when the keys come as columns (sessions), so none are allocated up front. */
  private readonly keys: Array<string | number> = [];
  private readonly windowCounts: Uint32Array;
  private readonly starts: TimeColumnWriter;
  /** `durations` until a window's does not fit, then `ends` (see `WindowSnapshot`). */
  private durations: Uint32Array | undefined;
  private ends: Float64Array | undefined;
  private readonly capacity: number;
  private readonly counts: NumberColumnWriter;
  private readonly flags: Uint8Array;
  /** The aggregator's states into its columns if it has them, else their JSON, one per window. */
  private readonly writer: ReturnType<NonNullable<Aggregator<never, S, unknown>['columns']>['writer']> | undefined;
  /** Or, for states kept as numbers (`windowAt`), from them in place. */
  private readonly numberWriter: NumberStateWriter | undefined;
  private readonly accs: unknown[] | undefined;
  private i = 0;
  private k = 0;
  private keyStart = 0;

  /**
   * `numbers`: the states come as numbers in place (`windowAt`), not as values (`window`).
   * `states`: 'none' when no window comes with a state (`stateless`; the caller adds `panes`), 'json'
   * when some do: each as `toJSON` gives it, `null` for one without (which no aggregator restores,
   * so a build without panes refuses the snapshot rather than read them as states).
   */
  /** `latest`: the operator's latest event time, which the starts are written from (state/time-column.ts). */
  constructor(
    keys: number,
    windows: number,
    latest: number,
    private readonly agg: Aggregator<never, S, unknown>,
    numbers?: NumberStates<never, S, unknown>,
    states: 'auto' | 'json' | 'none' = 'auto',
  ) {
    this.windowCounts = uint32Column(keys);
    this.starts = new TimeColumnWriter(windows, latest);
    this.capacity = windows;
    this.durations = uint32Column(windows);
    this.counts = new NumberColumnWriter(windows);
    this.flags = uint8Column(windows);
    this.numberWriter = numbers?.writer(windows);
    this.writer = this.numberWriter || states !== 'auto' ? undefined : agg.columns?.writer(windows);
    this.accs = this.writer || this.numberWriter || states === 'none' ? undefined : new Array<unknown>(windows);
  }

  /** A window without a state of its own. */
  stateless(start: number, end: number, count: number, flags: number): void {
    const i = this.times(start, end, count, flags);
    if (this.accs) this.accs[i] = null;
  }

  window(start: number, end: number, count: number, flags: number, acc: S): void {
    const i = this.times(start, end, count, flags);
    if (this.writer) this.writer.set(i, acc);
    else this.accs![i] = this.agg.toJSON(acc);
  }

  /** A window whose state is the numbers at `states[at]` on (see `NumberStates`). */
  windowAt(start: number, end: number, count: number, flags: number, states: Float64Array, at: number): void {
    this.numberWriter!.set(this.times(start, end, count, flags), states, at);
  }

  private times(start: number, end: number, count: number, flags: number): number {
    const i = this.i++;
    this.starts.set(i, start);
    const duration = end - start;
    const durations = this.durations;
    if (durations !== undefined && duration >>> 0 === duration && start + duration === end) durations[i] = duration;
    else this.end(i, end);
    this.counts.set(i, count);
    this.flags[i] = flags;
    return i;
  }

  /** Window `i` ends at `end`, which a duration cannot give: the ends from here on (those before it from their durations). */
  private end(i: number, end: number): void {
    if (this.ends === undefined) {
      const ends = float64Column(this.capacity);
      const { starts, durations } = this;
      for (let j = 0; j < i; j++) ends[j] = starts.get(j) + durations![j]!;
      this.ends = ends;
      this.durations = undefined;
    }
    this.ends[i] = end;
  }

  /** The windows since the last `key` call belong to `key`. */
  key(key: string | number): void {
    this.keys.push(key);
    this.endKey();
  }

  /** The windows since the last call belong to the next key of the columns given to `build`. */
  endKey(): void {
    this.windowCounts[this.k++] = this.i - this.keyStart;
    this.keyStart = this.i;
  }

  /** `keyColumns`: the keys, when `endKey` was called instead of `key`. */
  build(kind: WindowKind, maxTime: number, watermark: number, keyColumns?: TakenKeyColumns): TakenWindowSnapshot {
    const { i, k } = this;
    if (this.accs) this.accs.length = i;
    return {
      kind,
      maxTime: Number.isFinite(maxTime) ? maxTime : null,
      watermark: Number.isFinite(watermark) ? watermark : null,
      keys: keyColumns ?? this.keys,
      windowCounts: new TypedColumn(this.windowCounts.subarray(0, k)),
      starts: this.starts.done(i),
      startsFrom: this.starts.base,
      ...(this.durations !== undefined ? { durations: new TypedColumn(this.durations.subarray(0, i)) } : { ends: new TypedColumn(this.ends!.subarray(0, i)) }),
      counts: this.counts.done(i),
      flags: new TypedColumn(this.flags.subarray(0, i)),
      ...(this.numberWriter
        ? { accColumns: this.numberWriter.done(i) }
        : this.writer
          ? { accColumns: this.writer.done(i) }
          : this.accs
            ? { accs: this.accs }
            : {}),
    };
  }
}

/** A snapshot decoded: its times first (windows go to heaps by the watermark), then its windows and purged sessions. */
export interface DecodedSnapshot<S> {
  readonly maxTime: number | null;
  readonly watermark: number | null;
  /** Each key's panes or null, when some key kept its states per pane (then its windows' `acc` is not used). */
  readonly panes: readonly unknown[] | undefined;
  /** Every window, key by key in the snapshot's key order (`k`: the key's index); `flags` as in `WindowSnapshot.flags`. */
  forEachWindow(visit: (key: string | number, start: number, end: number, acc: S, count: number, flags: number, k: number) => void): void;
  /** Sessions only: keys and ends of recently purged sessions, in purge order. */
  forEachClosed(visit: (key: string | number, end: number) => void): void;
}

/** Decode a snapshot (throws a plain message naming the operator kind if it is not one). */
export function decodeSnapshot<S>(kind: WindowKind, json: unknown, agg: Aggregator<never, S, unknown>): DecodedSnapshot<S> {
  const { maxTime, watermark, columns: c } = parseSnapshot(kind, json, agg);
  return {
    maxTime,
    watermark,
    panes: c.panes,
    forEachWindow(visit) {
      let i = 0;
      for (let k = 0; k < c.keys.length; k++) {
        for (const end = i + c.windowCounts[k]!; i < end; i++) visit(c.keys[k]!, c.starts[i]!, c.ends[i]!, c.states[i] as S, c.counts[i]!, c.flags[i]!, k);
      }
    },
    forEachClosed(visit) {
      for (let j = 0; j < c.closedKeys.length; j++) visit(c.closedKeys[j]!, c.closedEnds[j]!);
    },
  };
}

/** Validate a snapshot and decode its columns (restoring the aggregator states). */
function parseSnapshot<S>(
  kind: WindowKind,
  json: unknown,
  agg: Aggregator<never, S, unknown>,
): { readonly maxTime: number | null; readonly watermark: number | null; readonly columns: RestoredColumns<S> } {
  const fail = (why: string): never => {
    throw new Error(`${kind}: cannot restore snapshot: ${why}`);
  };
  if (typeof json !== 'object' || json === null) return fail('not an object');
  const s = json as Record<string, unknown>;
  if (s.kind !== kind) return fail(`it was taken from a ${String(s.kind)} operator`);
  const nullableNumber = (v: unknown) => v === null || typeof v === 'number';
  if (!nullableNumber(s.maxTime) || !nullableNumber(s.watermark)) return fail('maxTime/watermark must be numbers or null');
  const times = { maxTime: s.maxTime as number | null, watermark: s.watermark as number | null };
  const keysOf = (name: string): Array<string | number> => {
    const keys = s[name];
    if (typeof keys === 'object' && keys !== null && !Array.isArray(keys)) return keysFromKeyColumns(name, keys as Record<string, unknown>);
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' || typeof k === 'number'))
      return fail(`${name} must be an array of strings and numbers`);
    return keys as Array<string | number>;
  };
  const keysFromKeyColumns = (name: string, c: Record<string, unknown>): Array<string | number> => {
    const { utf8, lengths, numbers } = c;
    if (!isEncodedColumn(utf8) || !isEncodedColumn(lengths) || !(numbers === undefined || isEncodedColumn(numbers))) {
      return fail(`${name} must be key columns (utf8, lengths, numbers)`);
    }
    const truncated = `${kind}: cannot restore snapshot: ${name} is truncated`;
    return keysFromColumns(
      decodeColumn(utf8, uint8s, 1, truncated),
      decodeColumn(lengths, uint32s, 4, truncated),
      numbers === undefined ? undefined : decodeColumn(numbers, uint8s, 1, truncated),
      (why) => fail(`${name}: ${why}`),
    );
  };
  const column = <A extends ArrayLike<number>>(name: string, make: (buffer: ArrayBuffer, length: number) => A, bytes: number): ArrayLike<number> => {
    const value = s[name];
    if (!isEncodedColumn(value)) return fail(`${name} must be a typed column`);
    return decodeColumn(value, make as never, bytes, `${kind}: cannot restore snapshot: ${name} is truncated`) as unknown as A;
  };
  /** Times written from a base (`baseName`), or float64s without one (state/time-column.ts). */
  const timeColumn = (name: string, baseName: string, length: number, wrongLength: string): Float64Array => {
    const value = s[name];
    const base = s[baseName];
    if (!isEncodedColumn(value)) return fail(`${name} must be a typed column`);
    if (base !== undefined && typeof base !== 'number') return fail(`${baseName} must be a number`);
    const bytes = typeof value === 'string' ? Buffer.byteLength(value, 'base64') : value.byteLength;
    if (bytes !== 8 * length && (base === undefined || bytes !== 4 * length)) return fail(wrongLength);
    return decodeTimeColumn(value, length, base, `${kind}: cannot restore snapshot: ${name}`);
  };
  const keys = keysOf('keys');
  const windowCounts = column('windowCounts', uint32s, 4);
  if (windowCounts.length !== keys.length) return fail('windowCounts must have one entry per key');
  let windows = 0;
  for (let k = 0; k < windowCounts.length; k++) windows += windowCounts[k]!;
  const starts = timeColumn('starts', 'startsFrom', windows, 'starts must have one entry per window');
  const durations = s.durations === undefined ? undefined : column('durations', uint32s, 4);
  if (durations !== undefined && durations.length !== windows) return fail('durations must have one entry per window');
  const ends = durations === undefined ? column('ends', float64s, 8) : Float64Array.from(durations, (duration, i) => starts[i]! + duration);
  if (!isEncodedColumn(s.counts)) return fail('counts must be a typed column');
  const counts = decodeNumberColumn(s.counts, windows, `${kind}: cannot restore snapshot: counts must have one entry per window`);
  const flags = column('flags', uint8s, 1);
  for (const [name, c] of [
    ['ends', ends],
    ['flags', flags],
  ] as const) {
    if (c.length !== windows) return fail(`${name} must have one entry per window`);
  }
  let states: S[] = [];
  let panes: unknown[] | undefined;
  if ('panes' in s) {
    if (!Array.isArray(s.panes) || s.panes.length !== keys.length) return fail('panes must have one entry per key');
    panes = s.panes;
  }
  if ('accColumns' in s) {
    if (agg.columns === undefined) return fail('its aggregator states are columns, and this aggregator has none');
    states = agg.columns.fromColumns(s.accColumns, windows);
  } else if ('accs' in s || panes === undefined) {
    const accs = s.accs;
    if (!Array.isArray(accs) || accs.length !== windows) return fail('accs must have one entry per window');
    // With panes, a window of a key that has them has no state (null).
    states = accs.map((acc: unknown) => (panes !== undefined && acc === null ? (undefined as S) : agg.fromJSON(acc)));
  }
  const closedKeys = s.closedKeys === undefined ? [] : keysOf('closedKeys');
  const closedEnds =
    s.closedEnds === undefined
      ? new Float64Array(0)
      : timeColumn('closedEnds', 'closedEndsFrom', closedKeys.length, 'closedEnds must have one entry per closed key');
  if (closedEnds.length !== closedKeys.length) return fail('closedEnds must have one entry per closed key');
  return { ...times, columns: { keys, windowCounts, starts, ends, counts, flags, states, panes, closedKeys, closedEnds } };
}
