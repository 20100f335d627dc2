import { describe, expect, it } from 'vitest';
import { latencyTimeline } from './latency-timeline.ts';

describe('latencyTimeline', () => {
  it('cuts events into slices of publish time, skipping empty ones, with the checkpoints reported in each', () => {
    const t0 = 1_000_000;
    const sentAt = [t0, t0 + 100, t0 + 999, t0 + 1_000, t0 + 3_500];
    const latencies = [300, 100, 200, 900, 50];
    const checkpoints = [
      { at: t0 + 400, saveMs: 812.4 },
      { at: t0 + 1_999, saveMs: 90 },
      { at: t0 + 2_000, saveMs: 1_500 },
    ];
    expect(latencyTimeline(sentAt, latencies, checkpoints, 1_000)).toEqual([
      { atMs: 0, events: 3, p50Ms: 200, maxMs: 300, checkpointSavesMs: [812] },
      { atMs: 1_000, events: 1, p50Ms: 900, maxMs: 900, checkpointSavesMs: [90] },
      // 2,000-2,999: no publish, so the save reported at 2,000 is in no slice.
      { atMs: 3_000, events: 1, p50Ms: 50, maxMs: 50, checkpointSavesMs: [] },
    ]);
  });

  it('is empty without events', () => {
    expect(latencyTimeline([], [], [{ at: 5, saveMs: 1 }], 500)).toEqual([]);
  });
});
