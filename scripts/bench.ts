/**
 * `npm run bench`: throughput, latency and memory of the clickstream pipeline on the local NATS
 * and ClickHouse, against the ceilings measured in the same process and run (raw consume+ack,
 * raw inserts). A benchmark, not a test: it prints figures, it does not judge them.
 *
 *   npm run bench                        # 1M events, latency at 20k events/s for 30 s (after 5 s of warm-up)
 *   npm run bench -- --events 10000000   # long run: peak RSS must stay flat
 *   npm run bench -- --json              # one JSON line on stdout (table and progress on stderr)
 *   npm run bench -- --trace-sample 0.01 # the pipeline phase traced, 1 % of events and cuts sampled (bench/tracing.ts)
 *
 * Every phase names its own streams, consumers, databases and buckets, and removes them at the end
 * (also on Ctrl-C; `scripts/bench-clean.ts` removes what a killed run left).
 */
import { loadavg } from 'node:os';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Command } from 'commander';
import { measureLatency } from '../bench/latency.ts';
import { describeMachine } from '../bench/machine.ts';
import { dropPhase, newRunId, type PhaseNames, phaseNames } from '../bench/names.ts';
import { materializedViewTotals, type PeerPipeline } from '../bench/peer-pipelines.ts';
import { pipelineThroughput } from '../bench/pipeline-throughput.ts';
import { publishBulk } from '../bench/publish-bulk.ts';
import { ratioOption } from '../bench/ratio-option.ts';
import { rawConsumeAck } from '../bench/raw-consume.ts';
import { rawInsert } from '../bench/raw-insert.ts';
import { type BenchSummary, formatJson, formatTable } from '../bench/report.ts';
import { collectGarbage } from '../bench/rss.ts';
import { nonNegativeInt, positiveInt } from '../cli/int-options.ts';
import { createClickHouseClient } from '../core/clickhouse-client.ts';
import { configFromEnv, parseConfig } from '../core/config.ts';
import { PipelineSettings } from '../core/pipeline.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';

interface BenchOptions {
  events: number;
  rate: number;
  latencySeconds: number;
  latencyWarmupSeconds: number;
  json: boolean;
  traceSample?: number;
}

const options = new Command()
  .name('bench')
  .description('benchmark the clickstream pipeline on the local NATS and ClickHouse (RXA_* variables as for rxa)')
  .option('--events <n>', 'events to pre-publish for the throughput phases', positiveInt, 1_000_000)
  .option('--rate <n>', 'offered rate of the latency phase, events/s', positiveInt, 20_000)
  .option('--latency-seconds <n>', 'duration of the latency phase (measured)', positiveInt, 30)
  .option('--latency-warmup-seconds <n>', 'publish at the rate this long first, not measured (a pipeline that just started runs cold code)', nonNegativeInt, 5)
  .option('--json', 'print one JSON line with the figures on stdout (the table goes to stderr)', false)
  .option(
    '--trace-sample <ratio>',
    'trace the pipeline phase: every event with a traceparent, this ratio sampled by its producer and of the cuts; spans counted, not sent',
    ratioOption,
  )
  .parse()
  .opts<BenchOptions>();

const started = performance.now();
const log = (message: string): void => {
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
};
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const runId = newRunId();
  const events = phaseNames(runId, 'events');
  const insert = phaseNames(runId, 'insert');
  // The pipeline reads the same pre-published stream as the raw consumer, with its own consumer and outputs.
  const pipe = { ...phaseNames(runId, 'pipe'), stream: events.stream, subjectPrefix: events.subjectPrefix };
  const live = phaseNames(runId, 'live');
  // The peers read the same stream too (bench/peer-pipelines.ts).
  const noop = { ...phaseNames(runId, 'noop'), stream: events.stream, subjectPrefix: events.subjectPrefix };
  const views = { ...phaseNames(runId, 'mv'), stream: events.stream, subjectPrefix: events.subjectPrefix };
  const base = configFromEnv();
  const settings = parseConfig(PipelineSettings, createClickstreamPipeline().settings ?? {}, 'clickstream settings');
  const nc = await connect({ servers: base.nats.servers, name: 'rxa:bench', noAsyncTraces: true });
  const jsm = await jetstreamManager(nc);
  const clickhouse = createClickHouseClient(base.clickhouse);
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaned ??= (async () => {
      log('cleaning up');
      for (const names of [noop, views]) await dropPhase(jsm, clickhouse, names, { sharedStream: true });
      for (const names of [events, insert, pipe, live]) await dropPhase(jsm, clickhouse, names);
    })());
  // Ctrl-C: remove this run's streams and databases before exiting (a second Ctrl-C exits at once).
  process.once('SIGINT', () => {
    process.once('SIGINT', () => process.exit(130));
    log('interrupted');
    void cleanup().finally(() => process.exit(130));
  });
  const loadBefore = loadavg()[0]!;
  // Other processes on the machine (a test run, a build) change every figure: say so up front.
  if (loadBefore > 1) log(`warning: load average ${loadBefore.toFixed(2)} before starting; figures will be lower than on an idle machine`);
  try {
    log(`run ${runId}: pre-publishing ${int(options.events)} events to ${events.stream}`);
    const stream = await publishBulk(
      nc,
      jsm,
      events,
      options.events,
      (n) => {
        if (n % 1_000_000 < 4_096 || n === options.events) log(`  published ${int(n)}`);
      },
      options.traceSample,
    );
    log(`published ${int(stream.messages)} in ${stream.seconds.toFixed(1)} s`);

    collectGarbage();
    const raw = await rawConsumeAck(jetstream(nc), jsm, events.stream, stream.messages, settings);
    log(`raw consume+ack: ${int(raw.perSecond)} events/s (${raw.seconds.toFixed(2)} s)`);

    collectGarbage();
    const inserted = await rawInsert(clickhouse, insert.database, stream.messages, settings.flushRows);
    log(`raw insert: ${int(inserted.perSecond)} rows/s (${inserted.seconds.toFixed(2)} s in inserts)`);
    await dropPhase(jsm, clickhouse, insert);

    const phase = (names: PhaseNames, peer?: PeerPipeline) =>
      pipelineThroughput(
        {
          config: configFromEnv(process.env, { clickhouse: { database: names.database }, checkpointBucket: names.bucket }),
          names,
          stream,
          ...(peer ? { peer } : {}),
          // The pipeline alone is traced: the peers stand for what users would build without rxa.
          ...(!peer && options.traceSample !== undefined ? { traceSample: options.traceSample } : {}),
        },
        (line) => log(`  ${peer ?? 'pipeline'}: ${line}`),
      );
    // Each phase's tables are dropped after it: their background merges would slow the next one.
    collectGarbage();
    const floor = await phase(noop, 'noop');
    log(`noop (raw events table only): ${int(floor.perSecond)} events/s (${floor.seconds.toFixed(2)} s), ${floor.cpuMicrosPerEvent.toFixed(1)} µs CPU/event`);
    await dropPhase(jsm, clickhouse, noop, { sharedStream: true });

    collectGarbage();
    const peer = await phase(views, 'materialized-views');
    const mvCounted = await materializedViewTotals(clickhouse, views.database);
    log(
      `ClickHouse materialized views: ${int(peer.perSecond)} events/s (${peer.seconds.toFixed(2)} s), ${peer.cpuMicrosPerEvent.toFixed(1)} µs CPU/event; ` +
        `views hold ${int(mvCounted.pageViews)} page views of ${int(mvCounted.pageViewRows)} page_view rows`,
    );
    await dropPhase(jsm, clickhouse, views, { sharedStream: true });

    collectGarbage();
    const pipeline = await phase(pipe);
    log(`pipeline: ${int(pipeline.perSecond)} events/s (${pipeline.seconds.toFixed(2)} s), peak RSS ${int(pipeline.peakRssMb)} MB`);
    // As the insert phase's before it: its tables' background merges (12M rows after 10M events)
    // would otherwise compete with the latency phase for the same two cores.
    for (const names of [pipe, events]) await dropPhase(jsm, clickhouse, names);

    collectGarbage();
    log(`latency: ${int(options.rate)} events/s for ${options.latencySeconds} s after ${options.latencyWarmupSeconds} s of warm-up`);
    const latency = await measureLatency(
      configFromEnv(process.env, { clickhouse: { database: live.database }, checkpointBucket: live.bucket }),
      jsm,
      clickhouse,
      live,
      { rate: options.rate, seconds: options.latencySeconds, warmupSeconds: options.latencyWarmupSeconds },
    );
    log(`latency: p50 ${int(latency.p50Ms)} ms, p99 ${int(latency.p99Ms)} ms, max ${int(latency.maxMs)} ms`);

    const summary: BenchSummary = {
      events: stream.messages,
      pipeline_events_per_s: pipeline.perSecond,
      raw_consume_ack_events_per_s: raw.perSecond,
      raw_insert_rows_per_s: inserted.perSecond,
      ratio: pipeline.perSecond / raw.perSecond,
      noop_events_per_s: floor.perSecond,
      ch_mv_events_per_s: peer.perSecond,
      ratio_vs_noop: pipeline.perSecond / floor.perSecond,
      pipeline_cpu_us_per_event: pipeline.cpuMicrosPerEvent,
      nats_cpu_us_per_event: pipeline.serverCpuMicrosPerEvent['nats-server'] ?? null,
      clickhouse_cpu_us_per_event: pipeline.serverCpuMicrosPerEvent.clickhouse ?? null,
      p50_latency_ms: latency.p50Ms,
      p99_latency_ms: latency.p99Ms,
      peak_rss_mb: pipeline.peakRssMb,
      ...(options.traceSample !== undefined ? { trace_sample: options.traceSample } : {}),
    };
    const table = formatTable(summary, {
      node: process.versions.node,
      machine: describeMachine(),
      publishSeconds: stream.seconds,
      rawConsumeSeconds: raw.seconds,
      rawInsertSeconds: inserted.seconds,
      pipelineSeconds: pipeline.seconds,
      noop: floor,
      materializedViews: peer,
      rowsWritten: pipeline.rowsWritten,
      deadLetters: pipeline.deadLetters,
      lateEvents: pipeline.lateEvents,
      rssQuartersMb: pipeline.rssQuartersMb,
      cpuMicrosPerEvent: pipeline.cpuMicrosPerEvent,
      mainThreadCpuMicrosPerEvent: pipeline.mainThreadCpuMicrosPerEvent,
      serverCpuMicrosPerEvent: pipeline.serverCpuMicrosPerEvent,
      latencyRate: latency.offeredRate,
      latencyAchievedRate: latency.achievedRate,
      latencyEvents: latency.events,
      latencyMaxMs: latency.maxMs,
      latencyWarmup: { seconds: options.latencyWarmupSeconds, ...latency.warmup },
      latencyServerCpuMicrosPerEvent: latency.serverCpuMicrosPerEvent,
      checkpoints: pipeline.checkpoints,
      ...(options.traceSample !== undefined ? { tracing: { sample: options.traceSample, spans: pipeline.spans ?? 0 } } : {}),
      latencyCheckpoints: latency.checkpoints,
      loadBefore,
      loadAfter: loadavg()[0]!,
    });
    // With --json, stdout carries only the JSON line; the table goes to stderr with the progress.
    if (options.json) {
      process.stderr.write(`${table}\n`);
      process.stdout.write(`${formatJson(summary)}\n`);
    } else {
      process.stdout.write(`${table}\n`);
    }
  } finally {
    await cleanup();
    await clickhouse.close();
    await nc.drain();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
