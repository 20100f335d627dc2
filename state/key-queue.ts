import { fingerprint } from './fingerprint.ts';
import { FingerprintIndex } from './fingerprint-index.ts';
import { decodeNumberColumn, NumberColumnWriter } from './number-column.ts';
import { uint32Column } from './snapshot-buffers.ts';
import { decodeColumn, type EncodedColumn, float64s, isEncodedColumn, type Taken, TypedColumn, uint32s } from './typed-columns.ts';

/**
 * The checkpointed state of a `KeyQueue` (a `dedupe` operator's): the fingerprints of remembered keys in insertion order with their event
 * times, as typed columns (high and low 32 bits; see state/typed-columns.ts). The times are written
 * as their distance from `timesFrom` (uint32s while each is a whole number of ms that fits, see
 * number-column.ts); snapshots of earlier builds, without it, hold them as float64s.
 */
export interface DedupeSnapshot {
  readonly maxTime: number | null;
  readonly hi: EncodedColumn;
  readonly lo: EncodedColumn;
  readonly times: EncodedColumn;
  readonly timesFrom?: number;
}

/**
 * Times are written from a multiple of 2^31 ms (~25 days) at least that far before the latest: every
 * time since then fits a uint32, and the base stays put between checkpoints (the column's bytes
 * change only where keys do) but once every ~25 days.
 */
const TIMES_BASE_STEP = 2 ** 31;

const INITIAL_RING = 1024;

/**
 * Remembered keys: fingerprint -> ring slot, and the keys in insertion order in a ring.
 *
 * The ring holds each key's fingerprint and time; keys are appended at `tail` and trimmed from
 * `head` as event time advances, so it needs room for the live keys only (a queue slid down its
 * arrays needed twice that). It grows by half when full: ~590k keys take 672k slots (10.8 MB),
 * where a power-of-two ring took 1,048,576 (16.8 MB). The index reads the ring's fingerprints.
 */
export class KeyQueue {
  // The ring: fingerprints as pairs (high, low) and times; a slot whose key was forgotten and
  // inserted again has a NaN time (dead), so the per-event trim can tell live from dead without a
  // lookup. A dead slot keeps its fingerprint until it is reused.
  private qFp = new Uint32Array(2 * INITIAL_RING);
  private qTimes = new Float64Array(INITIAL_RING);
  /** Fingerprint -> the ring slot of its live entry. */
  private readonly slotOf = new FingerprintIndex(this.qFp);
  /** The slot of the oldest entry not yet dropped, the slot the next goes to, and the entries in between (dead ones included). */
  private head = 0;
  private tail = 0;
  private held = 0;
  private maxTime = -Infinity;
  private readonly fp = new Uint32Array(2);
  private seen = 0;
  private out = 0;
  private duplicates = 0;
  private evicted = 0;
  private expired = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxKeys: number,
  ) {}

  /** Whether an event with this key and time is new (and then remember it). */
  admit(key: string, time: number): boolean {
    this.seen++;
    // NaN marks dead ring slots: an event without a usable time is remembered as already expired.
    const t = Number.isNaN(time) ? -Infinity : time;
    fingerprint(key, this.fp);
    const hi = this.fp[0]!;
    const lo = this.fp[1]!;
    if (t > this.maxTime) this.maxTime = t;
    const slot = this.slotOf.get(hi, lo);
    let emit: boolean;
    if (slot < 0) {
      emit = true;
    } else if (this.maxTime - this.qTimes[slot]! > this.ttlMs) {
      // Expired but not yet trimmed (it was inserted behind a newer key): forget it now.
      this.expired++;
      this.qTimes[slot] = NaN;
      emit = true;
    } else {
      emit = false;
    }
    if (emit) {
      this.insert(hi, lo, t);
      this.out++;
    } else {
      this.duplicates++;
    }
    this.trim();
    return emit;
  }

  snapshot(): Taken<DedupeSnapshot, 'hi' | 'lo' | 'times'> {
    const base = Number.isFinite(this.maxTime) ? (Math.floor(this.maxTime / TIMES_BASE_STEP) - 1) * TIMES_BASE_STEP : 0;
    return this.snapshotFrom(base) ?? this.snapshotFrom(0)!;
  }

  /**
   * The snapshot with times written as their distance from `base`; undefined if one of them would
   * not come back exactly (a fraction of a ms far below the base, -0): from 0, every time does.
   */
  private snapshotFrom(base: number): Taken<DedupeSnapshot, 'hi' | 'lo' | 'times'> | undefined {
    const live = this.slotOf.size;
    const hi = uint32Column(live);
    const lo = uint32Column(live);
    const times = new NumberColumnWriter(live);
    const { qFp, qTimes } = this;
    const capacity = qTimes.length;
    let n = 0;
    for (let k = 0, i = this.head; k < this.held; k++, i = i + 1 === capacity ? 0 : i + 1) {
      const t = qTimes[i]!;
      if (Number.isNaN(t)) continue; // dead
      const d = t - base;
      if (base !== 0 && (d + base !== t || (t === 0 && 1 / t < 0))) return undefined;
      hi[n] = qFp[2 * i]!;
      lo[n] = qFp[2 * i + 1]!;
      times.set(n, d);
      n++;
    }
    // n === live (a key held has one live entry); the views keep a reused buffer's tail out regardless.
    return {
      maxTime: this.maxTime === -Infinity ? null : this.maxTime,
      hi: new TypedColumn(hi.subarray(0, n)),
      lo: new TypedColumn(lo.subarray(0, n)),
      times: times.done(n),
      timesFrom: base,
    };
  }

  restore(value: unknown): void {
    const snapshot = parseSnapshot(value);
    this.maxTime = snapshot.maxTime ?? -Infinity;
    const { hi, lo, times } = snapshot;
    for (let i = 0; i < times.length; i++) this.insert(hi[i]!, lo[i]!, times[i]!);
  }

  stats(): Readonly<Record<string, number>> {
    return { in: this.seen, out: this.out, duplicates: this.duplicates, evicted: this.evicted, expired: this.expired, keys: this.slotOf.size };
  }

  private insert(hi: number, lo: number, t: number): void {
    if (this.held === this.qTimes.length) this.grow();
    const i = this.tail;
    this.qFp[2 * i] = hi;
    this.qFp[2 * i + 1] = lo;
    this.qTimes[i] = t;
    this.slotOf.set(hi, lo, i);
    this.tail = i + 1 === this.qTimes.length ? 0 : i + 1;
    this.held++;
  }

  /** Drop expired keys from the front, then evict the oldest while over capacity. */
  private trim(): void {
    const horizon = this.maxTime - this.ttlMs;
    const { qTimes, qFp } = this;
    const capacity = qTimes.length;
    let head = this.head;
    let held = this.held;
    while (held > 0) {
      const t = qTimes[head]!;
      if (!Number.isNaN(t)) {
        if (t < horizon) this.expired++;
        else if (this.slotOf.size > this.maxKeys) this.evicted++;
        else break;
        this.slotOf.delete(qFp[2 * head]!, qFp[2 * head + 1]!);
      }
      head = head + 1 === capacity ? 0 : head + 1;
      held--;
    }
    this.head = head;
    this.held = held;
  }

  /** The ring is full: half as large again, its entries moved to the front in order and indexed at their new slots. */
  private grow(): void {
    const { qFp, qTimes, held } = this;
    const capacity = qTimes.length;
    const larger = Math.ceil(capacity * 1.5);
    const fp = new Uint32Array(2 * larger);
    const times = new Float64Array(larger);
    this.slotOf.reset(fp);
    for (let k = 0, i = this.head; k < held; k++, i = i + 1 === capacity ? 0 : i + 1) {
      const hi = qFp[2 * i]!;
      const lo = qFp[2 * i + 1]!;
      fp[2 * k] = hi;
      fp[2 * k + 1] = lo;
      const t = qTimes[i]!;
      times[k] = t;
      if (!Number.isNaN(t)) this.slotOf.set(hi, lo, k);
    }
    this.qFp = fp;
    this.qTimes = times;
    this.head = 0;
    this.tail = held;
  }
}

const TRUNCATED = 'dedupe: cannot restore snapshot: truncated array';

interface ParsedSnapshot {
  maxTime: number | null;
  hi: Uint32Array;
  lo: Uint32Array;
  times: Float64Array;
}

function parseSnapshot(value: unknown): ParsedSnapshot {
  const fail = (why: string): never => {
    throw new Error(`dedupe: cannot restore snapshot: ${why}`);
  };
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const { maxTime, hi, lo, times, timesFrom } = value as { maxTime?: unknown; hi?: unknown; lo?: unknown; times?: unknown; timesFrom?: unknown };
  if (maxTime !== null && typeof maxTime !== 'number') return fail('maxTime must be a number or null');
  if (!(isEncodedColumn(hi) && isEncodedColumn(lo) && isEncodedColumn(times))) return fail('expected hi/lo/times');
  if (timesFrom !== undefined && !Number.isFinite(timesFrom)) return fail('timesFrom must be a finite number');
  const keys = decodeColumn(hi, uint32s, 4, TRUNCATED);
  const parsed = {
    maxTime,
    hi: keys,
    lo: decodeColumn(lo, uint32s, 4, TRUNCATED),
    times:
      typeof timesFrom === 'number'
        ? fromBase(decodeNumberColumn(times, keys.length, 'dedupe: cannot restore snapshot: times'), timesFrom)
        : decodeColumn(times, float64s, 8, TRUNCATED),
  };
  if (parsed.hi.length !== parsed.times.length || parsed.lo.length !== parsed.times.length) return fail('arrays of different lengths');
  return parsed;
}

/** Times written as their distance from `base`, back (from 0 as they are: adding 0 would turn -0 into 0). */
function fromBase(offsets: Uint32Array | Float64Array, base: number): Float64Array {
  if (base === 0) return Float64Array.from(offsets);
  const times = new Float64Array(offsets.length);
  for (let i = 0; i < offsets.length; i++) times[i] = offsets[i]! + base;
  return times;
}
