/**
 * What state structures hold, as plain values for expectations: a key's fingerprint, a
 * checkpoint's typed columns and key columns.
 */
import { fingerprint } from '../../state/fingerprint.ts';
import { keysFromColumns } from '../../state/key-arena.ts';
import { decodeTimeColumn } from '../../state/time-column.ts';
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

/** Times of a snapshot as plain numbers: a column of them written from `base` (state/time-column.ts), or float64s without one. */
export function times(column: unknown, length: number, base: number | undefined): number[] {
  if (!isEncodedColumn(column)) throw new Error(`expected a typed column, got ${typeof column}`);
  return Array.from(decodeTimeColumn(column, length, base, 'times'));
}

/** A dedupe snapshot's times as plain numbers. */
export function dedupeTimes(snapshot: { readonly hi: unknown; readonly times: unknown; readonly timesFrom?: number | undefined }): number[] {
  return times(snapshot.times, column(snapshot.hi, 'uint32').length, snapshot.timesFrom);
}
