import { z } from 'zod';
import { TypedColumn } from '../state/typed-columns.ts';
import { jsonChunks } from './json-chunks.ts';

/**
 * A checkpoint as bytes: its JSON with the typed columns (dedupe's fingerprints, `distinct`'s
 * sets, window snapshots' columns: most of a checkpoint) written beside it as raw bytes:
 *
 *     rxa-checkpoint binary 1\n
 *     <the checkpoint as JSON, each typed column replaced by its number in the column list>\n
 *     <the column list as JSON: [{ "path": [...keys and indices], "bytes": n }, ...]>\n
 *     <each column's bytes, in list order>
 *
 * As base64 inside the JSON they were a third larger, and the text went through base64,
 * `JSON.stringify`'s scan and UTF-8 encoding (the clickstream pipeline's state after 600k events at
 * 20k/s: 50.9 MB and 570-660 ms of CPU to encode; this way 40.1 MB and 110-170 ms). JSON never
 * holds a raw newline, so the lines split unambiguously.
 */
const MAGIC = 'rxa-checkpoint binary 1\n';
const NEWLINE = 0x0a;

const ColumnList = z.array(
  z.object({
    path: z.array(z.union([z.string(), z.number().int().nonnegative()])).min(1),
    bytes: z.number().int().nonnegative(),
  }),
);
type ColumnList = z.infer<typeof ColumnList>;

/**
 * The checkpoint's bytes, in pieces: its JSON serialized a few milliseconds at a time (see
 * `jsonChunks`, deep enough to reach a window operator's keys, windows and distinct sets), then
 * the columns' bytes as they are (not copied: a snapshot's columns are its own, never written to).
 */
export async function* encodeCheckpoint(checkpoint: unknown): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  const list: ColumnList = [];
  const columns: Uint8Array[] = [];
  const replace = (value: object, path: ReadonlyArray<string | number>): string | undefined => {
    if (!(value instanceof TypedColumn)) return undefined;
    const bytes = value.bytes();
    list.push({ path: [...path], bytes: bytes.byteLength });
    columns.push(bytes);
    return String(list.length - 1);
  };
  yield encoder.encode(MAGIC);
  for await (const piece of jsonChunks(checkpoint, { depth: 8, replace })) yield encoder.encode(piece);
  yield encoder.encode(`\n${JSON.stringify(list)}\n`);
  for (const bytes of columns) if (bytes.byteLength > 0) yield bytes;
}

/** Whether `data` is in this encoding (early 0.1 builds wrote the JSON alone). */
export function isEncodedCheckpoint(data: Uint8Array): boolean {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1', 0, MAGIC.length) === MAGIC;
}

/**
 * The checkpoint's value, typed columns as `Uint8Array`s (views into `data`; operators copy what
 * they keep). Throws on a truncated or inconsistent checkpoint, or one not in this encoding.
 */
export function decodeCheckpoint(data: Uint8Array): unknown {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const fail = (why: string): never => {
    throw new Error(`checkpoint: ${why}`);
  };
  if (!isEncodedCheckpoint(data)) return fail(`not in this encoding (it does not start with ${JSON.stringify(MAGIC)})`);
  const jsonEnd = buffer.indexOf(NEWLINE, MAGIC.length);
  const listEnd = jsonEnd < 0 ? -1 : buffer.indexOf(NEWLINE, jsonEnd + 1);
  if (listEnd < 0) return fail('truncated before its column list');
  const value: unknown = JSON.parse(buffer.toString('utf8', MAGIC.length, jsonEnd));
  const list = ColumnList.parse(JSON.parse(buffer.toString('utf8', jsonEnd + 1, listEnd)));
  let offset = listEnd + 1;
  list.forEach(({ path, bytes }, index) => {
    if (offset + bytes > data.byteLength) fail(`column ${index} is truncated`);
    let parent: unknown = value;
    for (const step of path.slice(0, -1))
      parent = typeof parent === 'object' && parent !== null && Object.hasOwn(parent, step) ? (parent as Record<string | number, unknown>)[step] : undefined;
    const last = path[path.length - 1]!;
    const holder = parent as Record<string | number, unknown>;
    if (typeof parent !== 'object' || parent === null || !Object.hasOwn(parent, last) || holder[last] !== index) {
      fail(`column ${index} has no place at ${JSON.stringify(path)}`);
    }
    holder[last] = data.subarray(offset, offset + bytes);
    offset += bytes;
  });
  if (offset !== data.byteLength) fail(`${data.byteLength - offset} bytes after its columns`);
  return value;
}
