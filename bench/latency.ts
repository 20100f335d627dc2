import { Worker } from 'node:worker_threads';
import type { ClickHouseClient } from '@clickhouse/client';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { RuntimeConfig } from '../core/config.ts';
import type { PipelineSettingsInput } from '../core/pipeline.ts';
import { eventsTable } from '../pipelines/clickstream-tables.ts';
import { quoteTable } from '../sinks/clickhouse/sql.ts';
import { ensureStream } from '../sources/streams.ts';
import { CHECKPOINT_LINE, type CheckpointFigures, type CheckpointStatus, CheckpointTally } from './checkpoint-tally.ts';
import { BenchChild } from './child.ts';
import { type CheckpointReport, type LatencySlice, latencyTimeline } from './latency-timeline.ts';
import type { LivePipelineJob } from './live-pipeline-process.ts';
import type { LivePublisherInput, LivePublisherOutput } from './live-publisher.ts';
import type { PhaseNames } from './names.ts';
import { percentile } from './percentile.ts';
import { PARTITIONS } from './publish-bulk.ts';
import { type ServerName, serverCpuMicrosPerEvent, serverCpuSeconds } from './server-cpu.ts';

export interface LatencyOptions {
  /** Offered rate, events per second of wall clock. */
  readonly rate: number;
  /** Measured: events published after the warm-up. */
  readonly seconds: number;
  /**
   * Published at the same rate first, not counted: a pipeline process that has been idle since it
   * started runs its first events through cold code (not yet optimized by the JIT), looks up
   * enrichment keys it has not cached yet and opens its ClickHouse connections, which a pipeline
   * that has been running does not. Reported apart (`warmup`). @default 0
   */
  readonly warmupSeconds?: number;
  /** How often ClickHouse is asked how many rows are visible. @default 50 */
  readonly pollMs?: number;
  /** Override the pipeline's settings (to measure a tuning change; `npm run bench` uses none). */
  readonly settings?: PipelineSettingsInput;
  /** Also return the latency by slices of publish time of this length (`timeline`), to see where a tail comes from. */
  readonly timelineMs?: number;
}

export interface LatencyResult {
  /** Events measured: those published after the warm-up that become a clickstream_events row. */
  readonly events: number;
  readonly offeredRate: number;
  readonly achievedRate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /**
   * nats-server's and ClickHouse's CPU per event published, from the first publish until every row
   * is visible (not the pipeline's process, nor this one, where the publisher and the polls run).
   */
  readonly serverCpuMicrosPerEvent: Partial<Record<ServerName, number>>;
  /** Checkpoints the pipeline saved while events were published and until every row was visible. */
  readonly checkpoints: CheckpointFigures;
  /** The events of the warm-up, measured the same way. */
  readonly warmup: { readonly events: number; readonly p99Ms: number; readonly maxMs: number };
  /** With `timelineMs`: every event's latency by slice of its publish time, warm-up included. */
  readonly timeline?: readonly LatencySlice[];
}

/** Users for the live phase: enough for lifelike visits, small enough to build in under a second. */
const LIVE_USERS = 200_000;
/** The pipeline's process (see live-pipeline-process.ts). */
const CHILD_ENTRY = new URL('./live-pipeline-process.ts', import.meta.url);

/** How long rows may take to show up after the last publish before the phase fails. */
const DRAIN_TIMEOUT_MS = 60_000;

/**
 * Publish → visible latency at a fixed offered rate, with the pipeline running live in a process
 * of its own.
 *
 * A worker thread publishes paced at `rate` (event time ≈ publish time) and records the send time
 * of every event that becomes a `clickstream_events` row, in publish (= stream) order. Rows are
 * written in stream order (cuts are sequential, each table's rows of a cut in one insert), so when
 * a poll of `SELECT count()` sees C rows, the first C such events are visible: each event's latency
 * is the time of the first poll whose count covers it, minus its send time. Polls every `pollMs`
 * and timing at the poll's response make this an upper bound, at most one poll period high.
 */
export async function measureLatency(
  config: RuntimeConfig,
  jsm: JetStreamManager,
  clickhouse: ClickHouseClient,
  names: PhaseNames,
  options: LatencyOptions,
): Promise<LatencyResult> {
  const { rate, seconds, warmupSeconds = 0, pollMs = 50, settings, timelineMs } = options;
  await ensureStream(jsm, { name: names.stream, subjects: [`${names.subjectPrefix}.>`] });
  // The pipeline in a process of its own, as `rxa run` runs it: on this thread, a busy pipeline
  // would delay the polls' responses and so inflate the very latency being measured.
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const tally = new CheckpointTally();
  const checkpointReports: CheckpointReport[] = [];
  let stopping = false;
  const pipeline = await BenchChild.start(CHILD_ENTRY, { config, names, ...(settings ? { settings } : {}) } satisfies LivePipelineJob, {
    onLine: (line) => {
      if (line === 'ready') markReady();
      else if (line.startsWith(CHECKPOINT_LINE) && !stopping) {
        const status = JSON.parse(line.slice(CHECKPOINT_LINE.length)) as CheckpointStatus;
        tally.observe(status);
        checkpointReports.push({ at: performance.timeOrigin + performance.now(), saveMs: status.lastCheckpointMs });
      }
    },
  });
  // A pipeline failure must not leave this phase waiting forever.
  const failed = pipeline.exited.then(async () => {
    if (!stopping) await pipeline.succeeded('latency phase pipeline');
    throw new Error('latency: the pipeline stopped early');
  });
  failed.catch(() => {});
  await Promise.race([ready, failed]);

  const count = Math.round(rate * (warmupSeconds + seconds));
  const serversAtStart = serverCpuSeconds();
  const sentAt = new Float64Array(new SharedArrayBuffer(count * Float64Array.BYTES_PER_ELEMENT));
  const publisher = startPublisher({
    servers: config.nats.servers,
    subjectPrefix: names.subjectPrefix,
    partitions: PARTITIONS,
    rate,
    count,
    users: LIVE_USERS,
    sentAt: sentAt.buffer as SharedArrayBuffer,
  });
  publisher.catch(() => {}); // awaited below

  const polls: Array<{ at: number; visible: number }> = [];
  let published: LivePublisherOutput | undefined;
  let pollErrors = 0;
  const table = quoteTable(names.database, eventsTable.name);
  const poll = async (): Promise<void> => {
    let drainDeadline = Infinity;
    for (;;) {
      let visible: number;
      try {
        const result = await clickhouse.query({ query: `SELECT count() AS c FROM ${table}`, format: 'JSONEachRow' });
        const [row] = await result.json<{ c: string | number }>();
        visible = Number(row?.c ?? 0);
      } catch (error) {
        // A kept-alive socket the server closed, typically: the next poll opens a new one.
        if (++pollErrors > 20) throw error;
        await new Promise((r) => setTimeout(r, pollMs));
        continue;
      }
      polls.push({ at: performance.timeOrigin + performance.now(), visible });
      if (published !== undefined) {
        if (visible >= published.rows) return;
        drainDeadline = Math.min(drainDeadline, Date.now() + DRAIN_TIMEOUT_MS);
        if (Date.now() > drainDeadline)
          throw new Error(`latency: only ${visible} of ${published.rows} rows visible ${DRAIN_TIMEOUT_MS} ms after the last publish`);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  };
  const polling = poll();
  polling.catch(() => {}); // awaited below; this only keeps an early failure from being unhandled
  published = await Promise.race([publisher, failed]);
  await Promise.race([polling, failed]);
  const serversAtEnd = serverCpuSeconds();
  stopping = true;
  pipeline.stop();
  await pipeline.succeeded('latency phase pipeline');

  const rows = published.rows;
  const latencies = new Float64Array(rows);
  let next = 0;
  for (const { at, visible } of polls) {
    for (; next < Math.min(visible, rows); next++) latencies[next] = at - sentAt[next]!;
  }
  // Rows are in publish order: the warm-up's come first.
  const warmupEnd = (sentAt[0] ?? 0) + warmupSeconds * 1000;
  let warmupRows = 0;
  while (warmupRows < rows && sentAt[warmupRows]! < warmupEnd) warmupRows++;
  const warmup = latencies.slice(0, warmupRows).sort();
  const measured = latencies.slice(warmupRows).sort();
  return {
    events: measured.length,
    offeredRate: rate,
    achievedRate: published.published / published.seconds,
    p50Ms: percentile(measured, 50),
    p99Ms: percentile(measured, 99),
    maxMs: measured.length > 0 ? measured[measured.length - 1]! : NaN,
    warmup: { events: warmup.length, p99Ms: percentile(warmup, 99), maxMs: warmup.length > 0 ? warmup[warmup.length - 1]! : NaN },
    serverCpuMicrosPerEvent: serverCpuMicrosPerEvent(serversAtStart, serversAtEnd, published.published),
    checkpoints: tally.figures(),
    ...(timelineMs ? { timeline: latencyTimeline(sentAt.subarray(0, rows), latencies, checkpointReports, timelineMs) } : {}),
  };
}

/** Run the paced publisher on its own thread (see live-publisher.ts); resolves with its totals. */
function startPublisher(input: LivePublisherInput): Promise<LivePublisherOutput> {
  // tsx registers its loader on the main thread only: the worker loads it before importing the .ts entry.
  const entry = new URL('./live-publisher.ts', import.meta.url).href;
  const loader = import.meta.resolve('tsx/esm/api');
  const worker = new Worker(`import(${JSON.stringify(loader)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))`, {
    eval: true,
    workerData: input,
  });
  return new Promise((resolve, reject) => {
    worker.once('message', (output: LivePublisherOutput) => resolve(output));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`live publisher exited (${code}) before reporting`)));
  });
}
