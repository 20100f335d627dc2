import { fingerprint } from './fingerprint.ts';
import { FingerprintIndex } from './fingerprint-index.ts';
import { uint32Column } from './snapshot-buffers.ts';
import { decodeTimeColumn, TimeColumnWriter } from './time-column.ts';
import { decodeColumn, type EncodedColumn, float64s, isEncodedColumn, type Taken, TypedColumn, uint32s } from './typed-columns.ts';

/**
 * The checkpointed state of a `KeyQueue` (a `dedupe` operator's): the fingerprints of remembered keys in insertion order with their event
 * times, as typed columns (high and low 32 bits; see state/typed-columns.ts), the times from
 * `timesFrom` (state/time-column.ts; snapshots of earlier builds, without it, hold float64 times).
 */
export interface DedupeSnapshot {
  readonly maxTime: number | null;
  readonly hi: EncodedColumn;
  readonly lo: EncodedColumn;
  readonly times: EncodedColumn;
  readonly timesFrom?: number;
}

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
    const live = this.slotOf.size;
    const hi = uint32Column(live);
    const lo = uint32Column(live);
    const times = new TimeColumnWriter(live, this.maxTime);
    const { qFp, qTimes } = this;
    const capacity = qTimes.length;
    let n = 0;
    for (let k = 0, i = this.head; k < this.held; k++, i = i + 1 === capacity ? 0 : i + 1) {
      const t = qTimes[i]!;
      if (Number.isNaN(t)) continue; // dead
      hi[n] = qFp[2 * i]!;
      lo[n] = qFp[2 * i + 1]!;
      times.set(n, t);
      n++;
    }
    // n === live (a key held has one live entry); the views keep a reused buffer's tail out regardless.
    return {
      maxTime: this.maxTime === -Infinity ? null : this.maxTime,
      hi: new TypedColumn(hi.subarray(0, n)),
      lo: new TypedColumn(lo.subarray(0, n)),
      times: times.done(n),
      timesFrom: times.base,
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
  const keys = { maxTime, hi: decodeColumn(hi, uint32s, 4, TRUNCATED), lo: decodeColumn(lo, uint32s, 4, TRUNCATED) };
  const n = keys.hi.length;
  const parsed = {
    ...keys,
    times: timesFrom === undefined ? decodeColumn(times, float64s, 8, TRUNCATED) : decodeTimeColumn(times, n, timesFrom as number, TRUNCATED),
  };
  if (keys.lo.length !== n || parsed.times.length !== n) return fail('arrays of different lengths');
  return parsed;
}
