/**
 * `JSON.stringify(value)` as a sequence of pieces, yielding to the event loop whenever a piece took
 * longer than `sliceMs` to produce. Large checkpoints (hundreds of thousands of keys and windows)
 * are serialized this way so that no single step blocks the pipeline for long: arrays and objects
 * are walked down to `depth` levels, and what lies below is stringified whole.
 *
 * The output is the same text `JSON.stringify` gives for JSON data (plain objects, arrays, strings,
 * numbers, booleans, null); `undefined` members are left out and `undefined` array elements become
 * `null`, as there.
 */
export interface JsonChunksOptions {
  /** Levels of arrays and objects walked; what lies below is stringified whole. @default 4 */
  readonly depth?: number;
  /** Yield to the event loop once a slice took this long. @default 8 */
  readonly sliceMs?: number;
  /**
   * Text to write instead of an object the walk reaches (not one below `depth` or in a run of flat
   * elements), or undefined to write it as JSON: e.g. a reference to bytes written elsewhere.
   * `path` is the object's place from the root (keys and indices); it changes as the walk goes on.
   */
  readonly replace?: (value: object, path: ReadonlyArray<string | number>) => string | undefined;
}

export async function* jsonChunks(value: unknown, { depth = 4, sliceMs = 8, replace }: JsonChunksOptions = {}): AsyncGenerator<string> {
  let pending: string[] = [];
  let sliceStart = performance.now();
  for (const piece of walk(value, depth, replace, [])) {
    pending.push(piece);
    if (performance.now() - sliceStart >= sliceMs) {
      yield pending.join('');
      pending = [];
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  if (pending.length > 0) yield pending.join('');
}

/** Flat elements in a run stringified by one `JSON.stringify` call. */
const RUN = 2_048;

function* walk(value: unknown, depth: number, replace: JsonChunksOptions['replace'], path: Array<string | number>): Generator<string> {
  if (replace && depth > 0 && value !== null && typeof value === 'object') {
    const text = replace(value, path);
    if (text !== undefined) {
      yield text;
      return;
    }
  }
  if (depth <= 0 || value === null || typeof value !== 'object' || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    yield JSON.stringify(value) ?? 'null';
    return;
  }
  if (Array.isArray(value)) {
    yield '[';
    // Runs of flat elements (the columns of a window snapshot: numbers, keys, small records) in one
    // stringify each: a piece per element, passed up through every generator level, cost more
    // than the serialization itself.
    let i = 0;
    while (i < value.length) {
      if (i > 0) yield ',';
      let end = i;
      while (end < value.length && end - i < RUN && isFlat(value[end])) end++;
      if (end > i) {
        const run = JSON.stringify(end - i === value.length ? value : value.slice(i, end));
        yield run.slice(1, -1);
        i = end;
        continue;
      }
      const item: unknown = value[i];
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') yield 'null';
      else {
        path.push(i);
        yield* walk(item, depth - 1, replace, path);
        path.pop();
      }
      i++;
    }
    yield ']';
    return;
  }
  yield '{';
  let first = true;
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    yield `${first ? '' : ','}${JSON.stringify(key)}:`;
    first = false;
    path.push(key);
    yield* walk(item, depth - 1, replace, path);
    path.pop();
  }
  yield '}';
}

/** Longest array that counts as a small record (e.g. a session snapshot's `[key, end]` pairs). */
const SMALL_ARRAY = 16;

/** A primitive, or a plain record or short array of primitives: cheap and bounded to stringify. */
function isFlat(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) {
    if (value.length > SMALL_ARRAY) return false;
    for (let i = 0; i < value.length; i++) if (!isSmallPrimitive(value[i])) return false;
    return true;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  for (const key in value) if (!isSmallPrimitive((value as Record<string, unknown>)[key])) return false;
  return true;
}

function isSmallPrimitive(value: unknown): boolean {
  if (value === null) return true;
  if (typeof value === 'object') return false;
  return typeof value !== 'string' || value.length <= 256;
}
