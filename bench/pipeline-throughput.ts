import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { createInterface } from 'node:readline';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { RuntimeConfig } from '../core/config.ts';
import type { PipelineSettingsInput } from '../core/pipeline.ts';
import { type PipelineStatus, runPipeline } from '../core/runner.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';
import type { PhaseNames } from './names.ts';
import { RssSampler } from './rss.ts';

/** What the pipeline phase runs on: everything JSON, so it can be handed to a child process. */
export interface PipelineThroughputJob {
  readonly config: RuntimeConfig;
  readonly names: PhaseNames;
  readonly stream: { readonly messages: number; readonly lastSeq: number };
  /** Override the pipeline's settings (to measure a tuning change; `npm run bench` uses none). */
  readonly settings?: PipelineSettingsInput;
  /** Write a CPU profile of the pipeline run to this file. */
  readonly cpuProf?: string;
}

export interface PipelineThroughputResult {
  readonly events: number;
  /** From the first pull to every row written and every message acked. */
  readonly seconds: number;
  readonly perSecond: number;
  readonly rowsWritten: number;
  readonly deadLetters: number;
  readonly lateEvents: number;
  /** Peak resident set size of the process running the pipeline (and nothing else). */
  readonly peakRssMb: number;
  /** RSS at each quarter of the run. */
  readonly rssQuartersMb: number[];
}

const CHILD_ENTRY = new URL('./pipeline-process.ts', import.meta.url);

/**
 * The pipeline phase in a process of its own, as `rxa run` runs a pipeline: its RSS is the
 * pipeline's, not the benchmark's (whose publisher and raw phases leave their own memory behind),
 * and it has its event loop to itself. Progress lines of the child go to `onProgress`.
 */
export async function pipelineThroughput(job: PipelineThroughputJob, onProgress: (line: string) => void): Promise<PipelineThroughputResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD_ENTRY.pathname, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const errors: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (line.startsWith('progress ')) onProgress(line.slice('progress '.length));
    else if (line.trim() !== '') errors.push(line);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  });
  if (code !== 0) throw new Error(`pipeline phase exited with ${code}:\n${errors.slice(-20).join('\n')}`);
  return JSON.parse(output) as PipelineThroughputResult;
}

/**
 * The full clickstream pipeline over the pre-published stream, in this process, with its default
 * settings. The clock starts when the runner opens its consumer (its log line right before the
 * first pull) and stops when `runPipeline` resolves after the graceful shutdown that follows the
 * last message: the final cut is written, checkpointed and acked by then (checked on the consumer).
 */
export async function measurePipelineThroughput(
  job: PipelineThroughputJob,
  jsm: JetStreamManager,
  onProgress: (status: PipelineStatus) => void,
): Promise<PipelineThroughputResult> {
  const { names, stream, settings } = job;
  const pipeline = createClickstreamPipeline({ name: names.pipeline, stream: names.stream, subjectPrefix: names.subjectPrefix });
  const definition = settings ? { ...pipeline, settings: { ...pipeline.settings, ...settings } } : pipeline;
  const controller = new AbortController();
  const rss = new RssSampler();
  const session = new Session();
  if (job.cpuProf) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  let started: number | undefined;
  let lastProgress = 0;
  rss.start();
  const final = await runPipeline(definition, {
    config: job.config,
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
  if (job.cpuProf) {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(job.cpuProf, JSON.stringify(profile));
    session.disconnect();
  }
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
