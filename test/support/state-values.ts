/**
 * What state structures hold, as plain values for expectations: a key's fingerprint, a
 * checkpoint's typed columns and key columns.
 */
import { fingerprint } from '../../state/fingerprint.ts';
import { keysFromColumns } from '../../state/key-arena.ts';
import { decodeNumberColumn } from '../../state/number-column.ts';
import { decodeColumn, float64s, isEncodedColumn, uint8s, uint32s } from '../../state/typed-columns.ts';

/** `key`'s fingerprint as [hi, lo]. */
export function fp(key: string): [number, number] {
  const out = new Uint32Array(2);
  fingerprint(key, out);
  return [out[0]!, out[1]!];
}

/** A typed column of a checkpoint (see state/typed-columns.ts) as plain numbers, for expectations. */
export function column(text: unknown, type: 'float64' | 'uint32' | 'uint8'): number[] {
  if (!isEncodedColumn(text)) throw new Error(`expected a typed column, got ${typeof text}`);
  const error = `truncated ${type} column`;
  const view =
    type === 'float64'
      ? decodeColumn(text, float64s, 8, error)
      : type === 'uint32'
        ? decodeColumn(text, uint32s, 4, error)
        : decodeColumn(text, uint8s, 1, error);
  return Array.from(view);
}

/** Keys of a checkpoint written as key columns (see `KeyColumns`), as plain values, for expectations. */
export function keyColumns(value: unknown): Array<string | number> {
  const { utf8, lengths, numbers } = value as Record<string, unknown>;
  const fail = (why: string): never => {
    throw new Error(why);
  };
  return keysFromColumns(Uint8Array.from(column(utf8, 'uint8')), column(lengths, 'uint32'), numbers === undefined ? undefined : column(numbers, 'uint8'), fail);
}

/** A dedupe snapshot's times as plain numbers: written from `timesFrom` where it has one (state/key-queue.ts), else float64s. */
export function dedupeTimes(snapshot: { readonly hi: unknown; readonly times: unknown; readonly timesFrom?: number | undefined }): number[] {
  const { times, timesFrom } = snapshot;
  if (timesFrom === undefined) return column(times, 'float64');
  if (!isEncodedColumn(times)) throw new Error(`expected a typed column, got ${typeof times}`);
  const offsets = Array.from(decodeNumberColumn(times, column(snapshot.hi, 'uint32').length, 'times'));
  return timesFrom === 0 ? offsets : offsets.map((d) => d + timesFrom);
}
