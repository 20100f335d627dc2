import { SingleBar } from 'cli-progress';
import type { RuntimeConfig } from '../core/config.ts';
import type { PipelineDefinition } from '../core/pipeline.ts';
import { type ReplaySummary, replayPipeline, type StreamPoint } from '../core/replay.ts';

/** Run a replay (of one partition, for a partitioned pipeline) with a progress bar (events, rate, ETA) on stderr. */
export async function runReplay(
  config: RuntimeConfig,
  definition: PipelineDefinition,
  range: { from: StreamPoint; to?: StreamPoint; partition?: number },
  signal: AbortSignal,
): Promise<ReplaySummary> {
  const bar = new SingleBar({
    format: `replay${range.partition === undefined ? '' : ` p${range.partition}`} {bar} {percentage}% | {value}/{total} events | {rate}/s | ETA {eta_formatted}`,
    etaBuffer: 50,
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 5_000,
    stream: process.stderr,
  });
  let started = false;
  const t0 = Date.now();
  const summary = await replayPipeline(definition, {
    config,
    ...range,
    signal,
    onLog: (message) => console.error(message),
    onProgress: ({ processed, total }) => {
      const rate = Math.round((processed * 1000) / Math.max(1, Date.now() - t0));
      if (!started) {
        bar.start(total, processed, { rate });
        started = true;
      } else bar.update(processed, { rate });
    },
  });
  if (started) bar.stop();
  return summary;
}
