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

/** 32-bit FNV-1a over the string's UTF-16 code units (user ids are ASCII, where that equals the bytes). */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
