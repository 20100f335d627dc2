/**
 * Content-defined chunking (FastCDC's normalized gear hash): bytes cut where their content says,
 * not at fixed offsets, so bytes inserted or removed in one place move no cut elsewhere.
 *
 * Why: a checkpoint is mostly state that did not change since the last one (dedupe's ring keeps
 * the keys of the last TTL; windows not touched since), but it moves: the ring is written oldest
 * key first, so every trim at its front shifts all that follows. Cut by content, the unchanged runs
 * come out as the same chunks as last time, which the checkpoint store then need not write again
 * (core/checkpoint-packs.ts).
 *
 * A cut falls where the gear hash of the last 32 bytes has its top bits zero: more of them before
 * the target size, fewer after (normalization keeps sizes near the target), never before `MIN`
 * (those bytes are not hashed at all), always at `MAX`.
 */
export const CHUNK_MIN_BYTES = 32 * 1024;
export const CHUNK_TARGET_BYTES = 64 * 1024;
export const CHUNK_MAX_BYTES = 256 * 1024;

/** Top 18 bits before the target size (a cut 1 byte in 262,144), top 14 after (1 in 16,384). */
const MASK_BEFORE_TARGET = 0xffffc000 | 0;
const MASK_AFTER_TARGET = 0xfffc0000 | 0;

/** 256 fixed pseudo-random words (splitmix32 from a constant seed): the same cuts in every build. */
const GEAR = (() => {
  const table = new Int32Array(256);
  let state = 0x9e3779b9;
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    table[i] = z ^ (z >>> 16);
  }
  return table;
})();

/** The gear hash across the pieces of one chunk (it starts at 0 at the chunk's minimum size). */
class Cutter {
  private h = 0;

  /**
   * Where the chunk that holds `size` bytes before `bytes[i]` ends within `bytes[i, n)`: the index
   * after its last byte, or -1 if it goes on past `n`.
   */
  cut(bytes: Uint8Array, i: number, n: number, size: number): number {
    if (size < CHUNK_MIN_BYTES) {
      const skip = Math.min(n - i, CHUNK_MIN_BYTES - size);
      i += skip;
      size += skip;
      if (size < CHUNK_MIN_BYTES) return -1;
    }
    let h = this.h;
    const offset = size - i; // size at index j is j + offset
    for (const end = Math.min(n, CHUNK_TARGET_BYTES - offset); i < end; i++) {
      h = ((h << 1) + GEAR[bytes[i]!]!) | 0;
      if ((h & MASK_BEFORE_TARGET) === 0) return this.reset(i + 1);
    }
    for (const end = Math.min(n, CHUNK_MAX_BYTES - offset); i < end; i++) {
      h = ((h << 1) + GEAR[bytes[i]!]!) | 0;
      if ((h & MASK_AFTER_TARGET) === 0) return this.reset(i + 1);
    }
    if (i + offset >= CHUNK_MAX_BYTES) return this.reset(i);
    this.h = h;
    return -1;
  }

  private reset(at: number): number {
    this.h = 0;
    return at;
  }
}

/**
 * `pieces` cut into content-defined chunks. A chunk within one piece is a view of it (not copied);
 * one spanning pieces is a copy. The cuts do not depend on how the bytes were split into pieces.
 */
export async function* contentChunks(pieces: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const cutter = new Cutter();
  /** The chunk being cut, when it began in an earlier piece: its bytes so far. */
  let carried: Uint8Array[] = [];
  let held = 0;
  for await (const piece of pieces) {
    let from = 0;
    while (from < piece.byteLength) {
      const cut = cutter.cut(piece, from, piece.byteLength, held);
      if (cut < 0) {
        carried.push(piece.subarray(from));
        held += piece.byteLength - from;
        break;
      }
      if (held === 0) yield piece.subarray(from, cut);
      else {
        yield Buffer.concat([...carried, piece.subarray(from, cut)]);
        carried = [];
        held = 0;
      }
      from = cut;
    }
  }
  if (held > 0) yield carried.length === 1 ? carried[0]! : Buffer.concat(carried);
}
