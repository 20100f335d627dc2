import type { JetStreamManager } from '@nats-io/jetstream';
import type { RuntimeConfig } from '../core/config.ts';
import type { PipelineSettingsInput } from '../core/pipeline.ts';
import { type PipelineStatus, runPipeline } from '../core/runner.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';
import type { PhaseNames } from './names.ts';
import { RssSampler } from './rss.ts';

export interface PipelineThroughputResult {
  readonly events: number;
  /** From the first pull to every row written and every message acked. */
  readonly seconds: number;
  readonly perSecond: number;
  readonly rowsWritten: number;
  readonly deadLetters: number;
  readonly lateEvents: number;
  readonly peakRssMb: number;
  /** RSS at each quarter of the run. */
  readonly rssQuartersMb: number[];
}

/**
 * The full clickstream pipeline over the pre-published stream, as `rxa run` runs it (its own
 * settings, one process). The clock starts when the runner opens its consumer (its log line
 * right before the first pull) and stops when `runPipeline` resolves after the graceful shutdown
 * that follows the last message: the final cut is written, checkpointed and acked by then.
 */
export async function pipelineThroughput(
  config: RuntimeConfig,
  jsm: JetStreamManager,
  names: PhaseNames,
  stream: { messages: number; lastSeq: number },
  onProgress: (status: PipelineStatus) => void,
  /** Override the pipeline's settings (to measure a tuning change; `npm run bench` uses none). */
  settings?: PipelineSettingsInput,
): Promise<PipelineThroughputResult> {
  const pipeline = createClickstreamPipeline({ name: names.pipeline, stream: names.stream, subjectPrefix: names.subjectPrefix });
  const definition = settings ? { ...pipeline, settings: { ...pipeline.settings, ...settings } } : pipeline;
  const controller = new AbortController();
  const rss = new RssSampler();
  let started: number | undefined;
  let lastProgress = 0;
  rss.start();
  const final = await runPipeline(definition, {
    config,
    signal: controller.signal,
    statusIntervalMs: 100,
    onLog: (message) => {
      if (started === undefined && /checkpoint/.test(message)) started = performance.now();
    },
    onStatus: (status) => {
      if (status.lastSeq >= stream.lastSeq && !controller.signal.aborted) controller.abort();
      const now = performance.now();
      if (now - lastProgress >= 5_000) {
        lastProgress = now;
        onProgress(status);
      }
    },
  });
  const ended = performance.now();
  rss.stop();
  if (started === undefined) throw new Error('pipeline: never saw the runner start consuming');
  if (final.ackedSeq !== stream.lastSeq) throw new Error(`pipeline: acked up to ${final.ackedSeq}, expected ${stream.lastSeq}`);
  const info = await jsm.consumers.info(names.stream, names.pipeline);
  if (info.ack_floor.stream_seq !== stream.lastSeq || info.num_ack_pending !== 0) {
    throw new Error(`pipeline: consumer ack floor ${info.ack_floor.stream_seq}, ${info.num_ack_pending} pending; expected all ${stream.lastSeq} acked`);
  }
  const seconds = (ended - started) / 1000;
  return {
    events: final.eventsIn,
    seconds,
    perSecond: final.eventsIn / seconds,
    rowsWritten: final.rowsWritten,
    deadLetters: final.deadLetters,
    lateEvents: final.lateEvents,
    peakRssMb: rss.peakMb,
    rssQuartersMb: rss.profile(4),
  };
}
