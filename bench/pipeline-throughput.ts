import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import type { JetStreamManager } from '@nats-io/jetstream';
import { runCommand } from '../cli/run.ts';
import type { RuntimeConfig } from '../core/config.ts';
import { runTarget } from '../core/partitions.ts';
import type { PipelineDefinition, PipelineSettingsInput } from '../core/pipeline.ts';
import type { PipelineStatus } from '../core/runner.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';
import { type CheckpointFigures, CheckpointTally } from './checkpoint-tally.ts';
import { BenchChild } from './child.ts';
import type { PhaseNames } from './names.ts';
import { createPeerPipeline, onlyOutputs, type PeerPipeline } from './peer-pipelines.ts';
import { RssSampler } from './rss.ts';
import { mainThreadCpuSeconds, type ServerName, serverCpuMicrosPerEvent, serverCpuSeconds } from './server-cpu.ts';

/** What the pipeline phase runs on: everything JSON, so it can be handed to a child process. */
export interface PipelineThroughputJob {
  readonly config: RuntimeConfig;
  readonly names: PhaseNames;
  readonly stream: { readonly messages: number; readonly lastSeq: number };
  /** Override the pipeline's settings (to measure a tuning change; `npm run bench` uses none). */
  readonly settings?: PipelineSettingsInput;
  /** Run a peer instead of the clickstream pipeline (bench/peer-pipelines.ts). */
  readonly peer?: PeerPipeline;
  /** Run only these outputs of the pipeline (table names): what the others' operators cost is the difference. */
  readonly outputs?: readonly string[];
  /** Write a CPU profile of the pipeline run to this file. */
  readonly cpuProf?: string;
  /**
   * Write a sampling allocation profile of the pipeline run to this file: every allocation sampled,
   * the garbage collected too (where the collectors' work comes from), not only what is still live.
   */
  readonly heapProf?: string;
  /** Flags for the pipeline process's node (`--trace-gc`: what it prints goes to stderr). */
  readonly nodeFlags?: readonly string[];
  /**
   * Run the pipeline partitioned (`count` partitions, as published) and only these partitions in
   * this process; without it, unpartitioned (one runner over the whole stream).
   */
  readonly partitions?: { readonly count: number; readonly run: readonly number[] };
  /** Trace the pipeline, sampling this ratio of its cuts, spans counted and dropped (bench/tracing.ts). */
  readonly traceSample?: number;
}

export interface PipelineThroughputResult {
  readonly events: number;
  /** From the first pull to every row written and every message acked. */
  readonly seconds: number;
  readonly perSecond: number;
  /**
   * CPU time (user + system) of the pipeline's process per event over the run: steadier than the
   * rate on a machine whose other core runs NATS and ClickHouse (and whatever else is running).
   */
  readonly cpuMicrosPerEvent: number;
  /** The same for the main thread alone (it runs the operators; the pipeline's bottleneck), where /proc tells. */
  readonly mainThreadCpuMicrosPerEvent: number | undefined;
  /** CPU of the local nats-server and ClickHouse per event over the same interval (see server-cpu.ts). */
  readonly serverCpuMicrosPerEvent: Partial<Record<ServerName, number>>;
  readonly rowsWritten: number;
  readonly deadLetters: number;
  readonly lateEvents: number;
  /** Peak resident set size of the process running the pipeline (and nothing else). */
  readonly peakRssMb: number;
  /** RSS at each quarter of the run. */
  readonly rssQuartersMb: number[];
  readonly checkpoints: CheckpointFigures;
  /** Spans made with `traceSample` (undefined without it). */
  readonly spans?: number;
  /** Wall-clock start and end (epoch ms), to combine processes that ran side by side. */
  readonly startedAt: number;
  readonly endedAt: number;
}

const CHILD_ENTRY = new URL('./pipeline-process.ts', import.meta.url);

/** The pipeline phase in a process of its own (see BenchChild). Progress lines of the child go to `onProgress`. */
export async function pipelineThroughput(job: PipelineThroughputJob, onProgress: (line: string) => void): Promise<PipelineThroughputResult> {
  let output = '';
  // The result is the child's one JSON line; anything else on its stdout was printed by node's flags.
  const onLine = (line: string) => {
    if (line.startsWith('{')) output += line;
    else process.stderr.write(`${line}\n`);
  };
  const child = await BenchChild.start(CHILD_ENTRY, job, { onLine, onProgress }, job.nodeFlags);
  await child.succeeded('pipeline phase');
  return JSON.parse(output) as PipelineThroughputResult;
}

/**
 * The full clickstream pipeline over the pre-published stream, in this process, with its default
 * settings (one runner, or the job's partitions). The clock starts when the first runner opens its
 * consumer (its log line right before the first pull) and stops when every runner has resolved
 * after the graceful shutdown that follows its last message: the final cuts are written,
 * checkpointed and acked by then (checked on the consumers).
 */
export async function measurePipelineThroughput(
  job: PipelineThroughputJob,
  jsm: JetStreamManager,
  onProgress: (status: PipelineStatus) => void,
): Promise<PipelineThroughputResult> {
  const { names, stream, settings, partitions } = job;
  const options = { name: names.pipeline, stream: names.stream, subjectPrefix: names.subjectPrefix, ...(partitions ? { partitions: partitions.count } : {}) };
  const full: PipelineDefinition = job.peer ? createPeerPipeline(job.peer, options) : createClickstreamPipeline(options);
  const pipeline = job.outputs ? onlyOutputs(full, job.outputs) : full;
  const definition = settings ? { ...pipeline, settings: { ...pipeline.settings, ...settings } } : pipeline;
  const targets = partitions ? partitions.run.map((p) => runTarget(definition, p)) : [runTarget(definition)];
  // Where each runner's input ends: the last message on its subject.
  const lastSeqs = new Map<string, number>();
  for (const target of targets) {
    const last = target.filterSubject ? (await jsm.streams.getMessage(names.stream, { last_by_subj: target.filterSubject }))?.seq : stream.lastSeq;
    lastSeqs.set(target.durable, last ?? 0);
  }
  const done = new Set<string>();
  const controller = new AbortController();
  const rss = new RssSampler();
  const session = new Session();
  if (job.cpuProf) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  if (job.heapProf) {
    if (!job.cpuProf) session.connect();
    await session.post('HeapProfiler.enable');
    // Node 20's types lack the two flags V8's protocol has had since 2023 (Chrome 119).
    const sampling = { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true };
    await session.post('HeapProfiler.startSampling', sampling as { samplingInterval: number });
  }
  let started: number | undefined;
  let cpuAtStart = process.cpuUsage();
  let serversAtStart = serverCpuSeconds();
  let mainAtStart = mainThreadCpuSeconds();
  let lastProgress = 0;
  const tally = new CheckpointTally();
  // Before the run: the runner traces its cuts only if a tracer provider is registered when it starts.
  const tracing = job.traceSample === undefined ? undefined : (await import('./tracing.ts')).startBenchTracing(job.traceSample);
  rss.start();
  // Through `rxa run`'s own code: its modules, heap tuning and health metrics are measured too.
  const results = await runCommand(definition, job.config, {
    quiet: true,
    signal: controller.signal,
    ...(partitions ? { partitions: partitions.run } : {}),
    statusIntervalMs: 100,
    onLog: (message) => {
      if (started === undefined && /checkpoint/.test(message)) {
        started = performance.now();
        cpuAtStart = process.cpuUsage();
        serversAtStart = serverCpuSeconds();
        mainAtStart = mainThreadCpuSeconds();
      }
    },
    onStatus: (status, target) => {
      tally.observe(status, target.durable);
      if (status.lastSeq >= lastSeqs.get(target.durable)!) done.add(target.durable);
      if (done.size === targets.length && !controller.signal.aborted) controller.abort();
      const now = performance.now();
      if (now - lastProgress >= 5_000) {
        lastProgress = now;
        onProgress(status);
      }
    },
  });
  const ended = performance.now();
  const cpu = process.cpuUsage(cpuAtStart);
  const spans = await tracing?.finish();
  const serversAtEnd = serverCpuSeconds();
  const mainAtEnd = mainThreadCpuSeconds();
  rss.stop();
  if (job.cpuProf) {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(job.cpuProf, JSON.stringify(profile));
  }
  if (job.heapProf) {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    await writeFile(job.heapProf, JSON.stringify(profile));
  }
  if (job.cpuProf || job.heapProf) session.disconnect();
  if (started === undefined) throw new Error('pipeline: never saw the runner start consuming');
  for (const { target, status } of results) {
    tally.observe(status, target.durable);
    const expected = lastSeqs.get(target.durable)!;
    const info = await jsm.consumers.info(names.stream, target.durable);
    if (status.ackedSeq !== expected || info.ack_floor.stream_seq !== expected || info.num_ack_pending !== 0 || info.num_pending !== 0) {
      throw new Error(`pipeline ${target.label}: acked up to ${info.ack_floor.stream_seq} (${info.num_ack_pending} pending), expected all up to ${expected}`);
    }
  }
  const sum = (f: (s: PipelineStatus) => number): number => results.reduce((total, r) => total + f(r.status), 0);
  const seconds = (ended - started) / 1000;
  const events = sum((s) => s.eventsIn);
  return {
    events,
    seconds,
    perSecond: events / seconds,
    cpuMicrosPerEvent: (cpu.user + cpu.system) / events,
    serverCpuMicrosPerEvent: serverCpuMicrosPerEvent(serversAtStart, serversAtEnd, events),
    mainThreadCpuMicrosPerEvent: mainAtStart === undefined || mainAtEnd === undefined ? undefined : ((mainAtEnd - mainAtStart) * 1e6) / events,
    rowsWritten: sum((s) => s.rowsWritten),
    deadLetters: sum((s) => s.deadLetters),
    lateEvents: sum((s) => s.lateEvents),
    peakRssMb: rss.peakMb,
    rssQuartersMb: rss.profile(4),
    checkpoints: tally.figures(),
    ...(spans !== undefined ? { spans } : {}),
    startedAt: performance.timeOrigin + started,
    endedAt: performance.timeOrigin + ended,
  };
}
