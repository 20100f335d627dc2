/**
 * Keys held outside the JS heap: each key's UTF-8 bytes in one growing byte arena, found by its
 * 64-bit fingerprint, under a slot number the caller allocates (a session operator's key slots).
 *
 * Why: a session operator holds a key per active user (hundreds of thousands). In a `Map` each was
 * a string scattered over the heap plus the Map's entry: a lookup with a freshly parsed key took
 * ~1.2 µs of dependent cache misses, every full collection traced them, and a checkpoint encoded
 * every string as JSON (~70-80 ms of the pipeline's thread at 200k keys). Here a lookup is a probe
 * into flat arrays, and a snapshot of the keys is a copy of bytes.
 *
 * Keys are told apart by fingerprint alone, as `dedupe` and `distinct` tell theirs (see
 * fingerprint.ts): two keys are taken for one with probability ~2^-64 per pair.
 */
import { fingerprintValue } from './fingerprint.ts';
import { FingerprintIndex } from './fingerprint-index.ts';
import { uint8Column, uint32Column } from './snapshot-buffers.ts';
import { TypedColumn } from './typed-columns.ts';

/** Keys as a snapshot holds them: UTF-8 bytes back to back, each key's byte length, and which were numbers. */
export interface TakenKeyColumns {
  readonly utf8: TypedColumn;
  readonly lengths: TypedColumn;
  /** Present when some key is a number: 1 for a number (held as its `String`), 0 for a string. */
  readonly numbers?: TypedColumn;
}

const FREE = -1;
const INITIAL_BYTES = 16 * 1024;
const INITIAL_SLOTS = 1024;

export class KeyArena<K extends string | number> {
  private bytes = Buffer.allocUnsafeSlow(INITIAL_BYTES);
  /** Bytes in use at the arena's end, and how many of them belong to removed keys. */
  private used = 0;
  private garbage = 0;
  /**
   * By slot, side by side (one cache line per key in a snapshot's walk): at 2 * slot where the key's
   * bytes are (FREE: no key), at 2 * slot + 1 their length times two, plus one if the key was a number.
   */
  private place = new Int32Array(2 * INITIAL_SLOTS).fill(FREE);
  /** By slot: the key's fingerprint, high half at 2 * slot, low at 2 * slot + 1 (what `index` compares, and removes by). */
  private fingerprints = new Uint32Array(2 * INITIAL_SLOTS);
  private readonly index = new FingerprintIndex(this.fingerprints);

  /** Keys held. */
  get size(): number {
    return this.index.size;
  }

  /** The slot holding `key`, or -1. */
  find(key: K): number {
    const fp = fingerprintValue(key);
    return this.index.get(fp[0]!, fp[1]!);
  }

  /** Hold `key` (not held yet) at `slot` (free). */
  insert(key: K, slot: number): void {
    if (2 * slot >= this.fingerprints.length) this.growSlots(slot + 1);
    const text = typeof key === 'number' ? String(key) : (key as string);
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.used + 3 * text.length > this.bytes.length) this.makeRoom(3 * text.length);
    const written = writeUtf8(this.bytes, text, this.used);
    this.place[2 * slot] = this.used;
    this.place[2 * slot + 1] = 2 * written + (typeof key === 'number' ? 1 : 0);
    this.used += written;
    const fp = fingerprintValue(key);
    this.fingerprints[2 * slot] = fp[0]!;
    this.fingerprints[2 * slot + 1] = fp[1]!;
    this.index.set(fp[0]!, fp[1]!, slot);
  }

  /** Forget the key at `slot`. */
  remove(slot: number): void {
    this.index.delete(this.fingerprints[2 * slot]!, this.fingerprints[2 * slot + 1]!);
    this.garbage += this.place[2 * slot + 1]! >>> 1;
    this.place[2 * slot] = FREE;
  }

  /** The key at `slot`, as it was inserted. */
  value(slot: number): K {
    const start = this.place[2 * slot]!;
    const size = this.place[2 * slot + 1]!;
    const text = this.bytes.toString('utf8', start, start + (size >>> 1));
    return ((size & 1) === 1 ? Number(text) : text) as K;
  }

  /**
   * A writer of up to `keys` keys, added by slot, into columns of their own (copies). Only while
   * the arena does not change: a snapshot is taken in a synchronous cut.
   */
  columns(keys: number): KeyColumnsWriter {
    return new KeyColumnsWriter(this.bytes, this.place, keys);
  }

  /** Room for `needed` more bytes: the live keys' bytes moved together into an arena of at least twice their size, removed keys' bytes dropped. */
  private makeRoom(needed: number): void {
    const live = this.used - this.garbage;
    let capacity = this.bytes.length;
    // Half of it free after the move, and at least two bytes per slot: the move walks every slot,
    // so at least as many bytes are written before the next one.
    while (live + needed > capacity / 2 || capacity < this.place.length) capacity *= 2;
    const next = Buffer.allocUnsafeSlow(capacity);
    const { bytes, place } = this;
    let at = 0;
    for (let i = 0; i < place.length; i += 2) {
      const from = place[i]!;
      if (from === FREE) continue;
      const n = place[i + 1]! >>> 1;
      bytes.copy(next, at, from, from + n);
      place[i] = at;
      at += n;
    }
    this.bytes = next;
    this.used = at;
    this.garbage = 0;
  }

  private growSlots(min: number): void {
    let capacity = this.fingerprints.length / 2;
    while (capacity < min) capacity *= 2;
    const place = new Int32Array(2 * capacity).fill(FREE);
    place.set(this.place);
    this.place = place;
    const fingerprints = new Uint32Array(2 * capacity);
    fingerprints.set(this.fingerprints);
    this.fingerprints = fingerprints;
    this.index.rebind(fingerprints);
  }
}

/**
 * `text` as UTF-8 into `bytes` at `at` (room checked by the caller); returns the byte count. ASCII,
 * what keys mostly are, is copied here: `Buffer#write` is a call into C++ costing more than a
 * short key's loop, and a session operator inserts a key per new user.
 */
function writeUtf8(bytes: Buffer, text: string, at: number): number {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return bytes.write(text, at, 'utf8');
    bytes[at + i] = c;
  }
  return n;
}

/**
 * Copies keys out of an arena, slot by slot, into snapshot columns (see `KeyArena.columns`). The
 * slots are noted as they come and the bytes copied at `done`, into a column of exactly their size:
 * a snapshot's columns are taken from one slab (snapshot-buffers.ts), and a column sized by the
 * whole arena held twice the session keys' bytes when a snapshot wrote them in two parts (keys
 * with sessions, keys closed).
 */
export class KeyColumnsWriter {
  /** The slots added, then (at `done`) each key's byte length. */
  private readonly lengths: Uint32Array;
  private count = 0;
  private bytesAdded = 0;
  private anyNumber = false;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly place: Int32Array,
    keys: number,
  ) {
    this.lengths = uint32Column(keys);
  }

  add(slot: number): void {
    const size = this.place[2 * slot + 1]!;
    this.bytesAdded += size >>> 1;
    if ((size & 1) === 1) this.anyNumber = true;
    this.lengths[this.count++] = slot;
  }

  done(): TakenKeyColumns {
    const { bytes, place, lengths, count } = this;
    const utf8 = uint8Column(this.bytesAdded);
    const numbers = this.anyNumber ? uint8Column(count) : undefined;
    let at = 0;
    for (let i = 0; i < count; i++) {
      const slot = lengths[i]!;
      const from = place[2 * slot]!;
      const size = place[2 * slot + 1]!;
      const n = size >>> 1;
      // Keys are short: a loop beats creating a view per key for `set`.
      if (n <= 64) for (let b = 0; b < n; b++) utf8[at + b] = bytes[from + b]!;
      else utf8.set(bytes.subarray(from, from + n), at);
      at += n;
      lengths[i] = n;
      if (numbers) numbers[i] = size & 1;
    }
    const taken = { utf8: new TypedColumn(utf8), lengths: new TypedColumn(lengths.subarray(0, count)) };
    return numbers ? { ...taken, numbers: new TypedColumn(numbers) } : taken;
  }
}

/** Keys from their snapshot columns (bytes, or base64 text): throws `fail`'s error if they do not add up. */
export function keysFromColumns(
  utf8: Uint8Array,
  lengths: ArrayLike<number>,
  numbers: ArrayLike<number> | undefined,
  fail: (why: string) => never,
): Array<string | number> {
  if (numbers !== undefined && numbers.length !== lengths.length) return fail('key kinds must have one entry per key');
  const text = Buffer.from(utf8.buffer, utf8.byteOffset, utf8.byteLength);
  const keys = new Array<string | number>(lengths.length);
  let at = 0;
  for (let j = 0; j < lengths.length; j++) {
    const end = at + lengths[j]!;
    if (end > text.length) return fail('key bytes are truncated');
    const key = text.toString('utf8', at, end);
    keys[j] = numbers?.[j] === 1 ? Number(key) : key;
    at = end;
  }
  if (at !== text.length) return fail('key bytes do not match their lengths');
  return keys;
}
