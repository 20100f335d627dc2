import { percentile } from './percentile.ts';

/** The events published in one slice of time, and the checkpoints reported saved in it. */
export interface LatencySlice {
  /** Start of the slice, ms after the first publish. */
  readonly atMs: number;
  readonly events: number;
  readonly p50Ms: number;
  readonly maxMs: number;
  /** Save times (ms) of the checkpoints reported saved in this slice (a pipeline reports about once a second). */
  readonly checkpointSavesMs: readonly number[];
}

/** When a checkpoint's save was reported (epoch ms) and how long the save took. */
export interface CheckpointReport {
  readonly at: number;
  readonly saveMs: number;
}

/**
 * Latency by slice of publish time: `sentAt` (epoch ms, in publish order, ascending) and each
 * event's `latencies`, cut into slices of `ms` from the first publish, with the checkpoint reports
 * that fall in each. Slices without a publish are left out.
 */
export function latencyTimeline(sentAt: ArrayLike<number>, latencies: ArrayLike<number>, checkpoints: readonly CheckpointReport[], ms: number): LatencySlice[] {
  const first = sentAt[0] ?? 0;
  const out: LatencySlice[] = [];
  for (let i = 0; i < sentAt.length; ) {
    const index = Math.floor((sentAt[i]! - first) / ms);
    let j = i;
    while (j < sentAt.length && Math.floor((sentAt[j]! - first) / ms) === index) j++;
    const slice = Float64Array.from({ length: j - i }, (_, n) => latencies[i + n]!).sort();
    const from = first + index * ms;
    out.push({
      atMs: index * ms,
      events: j - i,
      p50Ms: percentile(slice, 50),
      maxMs: slice[slice.length - 1]!,
      checkpointSavesMs: checkpoints.filter((c) => c.at >= from && c.at < from + ms).map((c) => Math.round(c.saveMs)),
    });
    i = j;
  }
  return out;
}
