import { fingerprintValue } from '../state/fingerprint.ts';
import { FingerprintIndex } from '../state/fingerprint-index.ts';
import { float64Column, uint32Column } from '../state/snapshot-buffers.ts';
import { decodeColumn, float64s, isEncodedColumn, TypedColumn, uint32s } from '../state/typed-columns.ts';
import type { PaneAggregation, PaneState } from './aggregator.ts';

/** Panes a value's mask covers, back from the latest pane it was seen in. */
const MASK_PANES = 32;
/** Room for this many windows' counts at least. */
const MIN_WINDOWS = 64;
const INITIAL_SLOTS = 64;

/**
 * `distinct` over hopping windows, one lookup per event: each value seen in the open windows has
 * a slot holding the latest pane it was seen in and a 32-bit mask of the panes before that it was
 * seen in too, and each open window a count of its distinct values. An event of pane p counts its
 * value in every window holding p whose panes the mask shows no earlier sighting in.
 *
 * Why not a set per pane, unioned when a window is emitted: when most values of a window are seen
 * once, the union inserts each value once per window again, as many inserts as a set per window.
 *
 * Exact (up to 64-bit fingerprint collisions, as `distinct`) while an event arrives at most 31
 * panes before the latest of its key, which `fits` ensures: the window operator drops later ones.
 */
export function distinctPanes<T>(value: (event: T) => string | number | undefined): PaneAggregation<T, number> {
  return {
    fits: (span, horizon) => span <= MASK_PANES && horizon < MASK_PANES,
    create: (span) => new DistinctPanes(value, span),
    restore: (json, span) => DistinctPanes.restore(value, span, json),
  };
}

class DistinctPanes<T> implements PaneState<T, number> {
  /** Fingerprints by slot (high half at 2 * slot), as the index reads them. */
  private fingerprints = new Uint32Array(2 * INITIAL_SLOTS);
  /** The latest pane each slot's value was seen in. */
  private latest = new Float64Array(INITIAL_SLOTS);
  /** Bit i: the value was seen in pane `latest - i`. */
  private masks = new Uint32Array(INITIAL_SLOTS);
  private readonly index = new FingerprintIndex(this.fingerprints);
  /** Slots handed out so far; freed ones are reused first. */
  private used = 0;
  private readonly free: number[] = [];
  /**
   * Distinct values of each open window, window `base` first. Open windows usually span a few
   * panes, but an event far ahead opens its windows before the watermark it brings closes the old.
   */
  private counts = new Float64Array(MIN_WINDOWS);
  private base = 0;
  /** The open windows counted: `low` to `high`; none when high < low. */
  private low = Infinity;
  private high = -Infinity;
  /** Windows before this pane are closed (see `forget`). */
  private forgotten = -Infinity;

  constructor(
    private readonly value: (event: T) => string | number | undefined,
    private readonly span: number,
  ) {}

  add(pane: number, firstWindow: number, event: T): void {
    const v = this.value(event);
    if (v === undefined) return;
    const fp = fingerprintValue(v);
    const hi = fp[0]!;
    const lo = fp[1]!;
    const from = Math.max(firstWindow, pane - this.span + 1, this.forgotten);
    if (from > pane) return;
    this.hold(from, pane);
    const { counts, base } = this;
    const slot = this.index.get(hi, lo);
    if (slot < 0) {
      const s = this.allocate(hi, lo);
      this.latest[s] = pane;
      this.masks[s] = 1;
      for (let w = from; w <= pane; w++) counts[w - base]! += 1;
      return;
    }
    const latest = this.latest[slot]!;
    const mask = this.masks[slot]!;
    if (latest - pane >= MASK_PANES) throw new Error(`distinct: an event of pane ${pane} came more than ${MASK_PANES - 1} panes before pane ${latest}`);
    for (let w = from; w <= pane; w++) {
      // Bits of the window's panes [w, w + span - 1] in the mask: latest - (w + span - 1) .. latest - w.
      const high = latest - w;
      if (high < 0 || (mask & bitsFrom(Math.max(0, high - this.span + 1), Math.min(high, MASK_PANES - 1))) === 0) counts[w - base]! += 1;
    }
    if (pane > latest) {
      const shift = pane - latest;
      this.masks[slot] = shift >= MASK_PANES ? 1 : ((mask << shift) | 1) >>> 0;
      this.latest[slot] = pane;
    } else {
      this.masks[slot] = (mask | (1 << (latest - pane))) >>> 0;
    }
  }

  result(first: number): number {
    return first < this.low || first > this.high ? 0 : this.counts[first - this.base]!;
  }

  forget(before: number): void {
    if (!(before > this.forgotten)) return;
    this.forgotten = before;
    if (before > this.high) {
      this.counts.fill(0);
      this.low = Infinity;
      this.high = -Infinity;
    } else {
      for (let w = this.low; w < before; w++) this.counts[w - this.base] = 0;
      this.low = Math.max(this.low, before);
    }
    // A value last seen before `before` is in no open window: free its slot.
    const { latest, fingerprints } = this;
    for (let s = 0; s < this.used; s++) {
      if (latest[s]! < before) {
        this.index.delete(fingerprints[2 * s]!, fingerprints[2 * s + 1]!);
        latest[s] = Number.NaN;
        this.free.push(s);
      }
    }
  }

  /**
   * The held values as (high, low, mask) triples grouped by the latest pane they were seen in,
   * oldest first (slot order within a group), and each group's pane and size.
   *
   * Why grouped: a value seen again moves to a newer group and the rest stay where they were, so an
   * incremental checkpoint rewrites the chunks of the last panes' values, not the whole table (in
   * slot order, new values land all over it: freed slots are reused anywhere). Why triples, not a
   * column each: the content-defined cuts (core/content-chunks.ts) need varied bytes, and a column
   * of latest panes or of masks is long runs of one value, where cuts fall at fixed offsets that
   * every change before them moves.
   */
  toJSON(): unknown {
    const live = this.used - this.free.length;
    const values = uint32Column(3 * live);
    const order = this.slotsByLatest(live);
    let groups = 0;
    for (let i = 0; i < live; i++) if (i === 0 || this.latest[order[i]!] !== this.latest[order[i - 1]!]) groups++;
    const latestPanes = float64Column(2 * groups);
    let group = -1;
    for (let i = 0; i < live; i++) {
      const s = order[i]!;
      values[3 * i] = this.fingerprints[2 * s]!;
      values[3 * i + 1] = this.fingerprints[2 * s + 1]!;
      values[3 * i + 2] = this.masks[s]!;
      if (group < 0 || latestPanes[2 * group] !== this.latest[s]) {
        group++;
        latestPanes[2 * group] = this.latest[s]!;
        latestPanes[2 * group + 1] = 0;
      }
      latestPanes[2 * group + 1]!++;
    }
    const windows = this.high >= this.low ? this.high - this.low + 1 : 0;
    const counts = float64Column(2 * windows);
    for (let j = 0; j < windows; j++) {
      counts[2 * j] = this.low + j;
      counts[2 * j + 1] = this.counts[this.low + j - this.base]!;
    }
    return {
      values: new TypedColumn(values),
      latestPanes: new TypedColumn(latestPanes),
      counts: new TypedColumn(counts),
      forgotten: Number.isFinite(this.forgotten) ? this.forgotten : null,
    };
  }

  static restore<T>(value: (event: T) => string | number | undefined, span: number, json: unknown): DistinctPanes<T> {
    const fail = (why: string): never => {
      throw new Error(`distinct: cannot restore panes: ${why}`);
    };
    if (typeof json !== 'object' || json === null) return fail('not an object');
    const j = json as Record<string, unknown>;
    const column = <A extends Uint32Array | Float64Array>(name: string, make: (buffer: ArrayBuffer, length: number) => A, bytes: number): A => {
      const c = j[name];
      if (!isEncodedColumn(c)) return fail(`${name} must be a typed column`);
      return decodeColumn(c, make, bytes, `distinct: cannot restore panes: ${name} is truncated`);
    };
    const counts = column('counts', float64s, 8);
    if (counts.length % 2 !== 0) return fail('counts must be (window, count) pairs');
    if (!(j.forgotten === null || typeof j.forgotten === 'number')) return fail('forgotten must be a number or null');
    const panes = new DistinctPanes(value, span);
    if ('values' in j) {
      const values = column('values', uint32s, 4);
      const latestPanes = column('latestPanes', float64s, 8);
      if (values.length % 3 !== 0 || latestPanes.length % 2 !== 0) return fail('values must be triples and latestPanes pairs');
      let i = 0;
      for (let g = 0; g < latestPanes.length; g += 2) {
        const pane = latestPanes[g]!;
        const end = i + latestPanes[g + 1]!;
        if (!(end <= values.length / 3)) return fail('latestPanes counts more values than there are');
        for (; i < end; i++) {
          const s = panes.allocate(values[3 * i]!, values[3 * i + 1]!);
          panes.latest[s] = pane;
          panes.masks[s] = values[3 * i + 2]!;
        }
      }
      if (i !== values.length / 3) return fail('latestPanes counts fewer values than there are');
    } else {
      // Written by builds before the grouped layout: a column each, in slot order.
      const pairs = column('fingerprints', uint32s, 4);
      const latest = column('latest', float64s, 8);
      const masks = column('masks', uint32s, 4);
      if (pairs.length !== 2 * latest.length || masks.length !== latest.length) return fail('columns of different lengths');
      for (let i = 0; i < latest.length; i++) {
        const s = panes.allocate(pairs[2 * i]!, pairs[2 * i + 1]!);
        panes.latest[s] = latest[i]!;
        panes.masks[s] = masks[i]!;
      }
    }
    for (let i = 0; i < counts.length; i += 2) {
      const w = counts[i]!;
      panes.hold(w, w);
      panes.counts[w - panes.base] = counts[i + 1]!;
    }
    panes.forgotten = j.forgotten ?? -Infinity;
    return panes;
  }

  /** Make windows `from` to `to` addressable in `counts` (new ones count 0). */
  private hold(from: number, to: number): void {
    const empty = this.high < this.low;
    const low = empty ? from : Math.min(this.low, from);
    const high = empty ? to : Math.max(this.high, to);
    if (empty || low < this.base || high - this.base >= this.counts.length) {
      // Rarely: the open windows moved past the end of the array (every few dozen panes).
      const kept = empty ? undefined : this.counts.slice(this.low - this.base, this.high - this.base + 1);
      let size = MIN_WINDOWS;
      while (size < high - low + 1) size *= 2;
      if (size === this.counts.length) this.counts.fill(0);
      else this.counts = new Float64Array(size);
      if (kept) this.counts.set(kept, this.low - low);
      this.base = low;
    }
    this.low = low;
    this.high = high;
  }

  /** The `live` held slots ordered by latest pane, then by slot: a counting sort, as held values' latest panes span a few dozen (a sort when an event far ahead spread them). */
  private slotsByLatest(live: number): Uint32Array {
    const { latest, used } = this;
    const order = new Uint32Array(live);
    if (live === 0) return order;
    let min = Infinity;
    let max = -Infinity;
    for (let s = 0; s < used; s++) {
      const p = latest[s]!;
      if (p < min) min = p;
      if (p > max) max = p;
    }
    if (max - min > 4 * live) {
      let i = 0;
      for (let s = 0; s < used; s++) if (!Number.isNaN(latest[s]!)) order[i++] = s;
      return order.sort((a, b) => latest[a]! - latest[b]! || a - b);
    }
    const starts = new Uint32Array(max - min + 2);
    for (let s = 0; s < used; s++) if (!Number.isNaN(latest[s]!)) starts[latest[s]! - min + 1]!++;
    for (let g = 1; g < starts.length; g++) starts[g]! += starts[g - 1]!;
    for (let s = 0; s < used; s++) if (!Number.isNaN(latest[s]!)) order[starts[latest[s]! - min]!++] = s;
    return order;
  }

  /** A slot for a value not held, its fingerprint written and indexed. */
  private allocate(hi: number, lo: number): number {
    let s = this.free.pop();
    if (s === undefined) {
      if (this.used === this.latest.length) this.grow();
      s = this.used++;
    }
    this.fingerprints[2 * s] = hi;
    this.fingerprints[2 * s + 1] = lo;
    this.index.set(hi, lo, s);
    return s;
  }

  private grow(): void {
    const slots = this.latest.length * 2;
    const fingerprints = new Uint32Array(2 * slots);
    fingerprints.set(this.fingerprints);
    const latest = new Float64Array(slots);
    latest.set(this.latest);
    const masks = new Uint32Array(slots);
    masks.set(this.masks);
    this.fingerprints = fingerprints;
    this.latest = latest;
    this.masks = masks;
    this.index.rebind(fingerprints);
  }
}

/** A mask of bits `low` to `high` (0 <= low, high <= 31; none when high < low). */
function bitsFrom(low: number, high: number): number {
  if (high < low) return 0;
  const width = high - low + 1;
  return (width >= 32 ? 0xffffffff : ((1 << width) - 1) << low) >>> 0;
}
