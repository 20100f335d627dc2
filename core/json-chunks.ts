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
export async function* jsonChunks(value: unknown, { depth = 4, sliceMs = 8 } = {}): AsyncGenerator<string> {
  let pending: string[] = [];
  let sliceStart = performance.now();
  for (const piece of walk(value, depth)) {
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

function* walk(value: unknown, depth: number): Generator<string> {
  if (depth <= 0 || value === null || typeof value !== 'object' || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    yield JSON.stringify(value) ?? 'null';
    return;
  }
  if (Array.isArray(value)) {
    yield '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ',';
      const item: unknown = value[i];
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') yield 'null';
      else yield* walk(item, depth - 1);
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
    yield* walk(item, depth - 1);
  }
  yield '}';
}
