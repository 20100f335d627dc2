import { fnv1a32 } from '../common/fnv1a.ts';

/**
 * The partition subject for a user: `${prefix}.${p}` with p = FNV-1a(user_id) mod partitions.
 * Stable across processes and runs, so all events of one user land on one subject (and so on one
 * consumer, which keeps per-user order for sessionization).
 */
export function partitionSubject(prefix: string, userId: string, partitions: number): string {
  if (!(Number.isSafeInteger(partitions) && partitions >= 1)) {
    throw new Error(`partitions must be a positive integer, got ${partitions}`);
  }
  return `${prefix}.${fnv1a32(userId) % partitions}`;
}
