import { type CheckpointFigures, formatCheckpoints } from './checkpoint-tally.ts';
import type { Machine } from './machine.ts';
import type { ServerName } from './server-cpu.ts';

/** The one JSON line `npm run bench -- --json` prints (keys and meaning fixed by the issue). */
export interface BenchSummary {
  events: number;
  pipeline_events_per_s: number;
  raw_consume_ack_events_per_s: number;
  raw_insert_rows_per_s: number;
  /** pipeline / raw consume+ack, same run. */
  ratio: number;
  /** The same pull, encoding and acks into the raw events table only: the floor of the work. */
  noop_events_per_s: number;
  /** The peer users build instead: raw events inserted, three ClickHouse materialized views over them. */
  ch_mv_events_per_s: number;
  /** pipeline / noop, same run. */
  ratio_vs_noop: number;
  /** CPU time of the pipeline's process per event, pipeline phase. */
  pipeline_cpu_us_per_event: number;
  /** CPU time of the local servers per event over the pipeline phase (null: not measurable here). */
  nats_cpu_us_per_event: number | null;
  clickhouse_cpu_us_per_event: number | null;
  p50_latency_ms: number;
  p99_latency_ms: number;
  peak_rss_mb: number;
  /** With `--trace-sample`: the ratio sampled (the pipeline phase traced); absent otherwise. */
  trace_sample?: number;
}

export interface BenchDetails {
  node: string;
  machine: Machine;
  publishSeconds: number;
  rawConsumeSeconds: number;
  rawInsertSeconds: number;
  pipelineSeconds: number;
  noop: PhaseFigures;
  materializedViews: PhaseFigures;
  rowsWritten: number;
  deadLetters: number;
  lateEvents: number;
  rssQuartersMb: number[];
  /** CPU time per event of the pipeline's process, and of the local servers over the same phase. */
  cpuMicrosPerEvent: number;
  mainThreadCpuMicrosPerEvent: number | undefined;
  serverCpuMicrosPerEvent: Partial<Record<ServerName, number>>;
  latencyRate: number;
  latencyAchievedRate: number;
  latencyEvents: number;
  latencyMaxMs: number;
  latencyWarmup: { seconds: number; events: number; p99Ms: number; maxMs: number };
  latencyServerCpuMicrosPerEvent: Partial<Record<ServerName, number>>;
  checkpoints: CheckpointFigures;
  /** With `--trace-sample`: the ratio, and the spans the pipeline phase made. */
  tracing?: { sample: number; spans: number };
  latencyCheckpoints: CheckpointFigures;
  /** 1-minute load average before the run and at its end: other work on the machine skews every figure. */
  loadBefore: number;
  loadAfter: number;
}

/** What the table shows of a peer's phase. */
export interface PhaseFigures {
  seconds: number;
  cpuMicrosPerEvent: number;
  serverCpuMicrosPerEvent: Partial<Record<ServerName, number>>;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const micros = (n: number): string => `${n.toFixed(1)} µs`;
const cpuPerEvent = (p: PhaseFigures): string =>
  [`CPU/event: process ${micros(p.cpuMicrosPerEvent)}`, ...Object.entries(p.serverCpuMicrosPerEvent).map(([name, m]) => `${name} ${micros(m)}`)].join(', ');

/** What the materialized-view peer cannot do that the pipeline does (bench/peer-pipelines.ts). */
export const MATERIALIZED_VIEW_LIMITS = 'no dedupe across inserts, late events not kept apart, no sessions, no exact hopping windows';

/** A plain aligned table for people. */
export function formatTable(s: BenchSummary, d: BenchDetails): string {
  const rows: Array<[string, string, string]> = [
    ['events (pre-published)', int(s.events), `published in ${d.publishSeconds.toFixed(1)} s (not timed)`],
    ['raw consume+ack', `${int(s.raw_consume_ack_events_per_s)} events/s`, `${d.rawConsumeSeconds.toFixed(2)} s`],
    ['raw insert (TabSeparated)', `${int(s.raw_insert_rows_per_s)} rows/s`, `${d.rawInsertSeconds.toFixed(2)} s in inserts`],
    [
      'pipeline',
      `${int(s.pipeline_events_per_s)} events/s`,
      `${d.pipelineSeconds.toFixed(2)} s, ${int(d.rowsWritten)} rows, ${int(d.deadLetters)} dead letters, ${int(d.lateEvents)} late`,
    ],
    ['ratio pipeline / raw consume', s.ratio.toFixed(2), ''],
    ['noop (raw events only)', `${int(s.noop_events_per_s)} events/s`, `${d.noop.seconds.toFixed(2)} s, ${cpuPerEvent(d.noop)}`],
    [
      'ClickHouse materialized views',
      `${int(s.ch_mv_events_per_s)} events/s`,
      `${d.materializedViews.seconds.toFixed(2)} s, ${cpuPerEvent(d.materializedViews)}`,
    ],
    ['', '', `  cannot: ${MATERIALIZED_VIEW_LIMITS}`],
    ['ratio pipeline / noop', s.ratio_vs_noop.toFixed(2), `pipeline / materialized views ${(s.pipeline_events_per_s / s.ch_mv_events_per_s).toFixed(2)}`],
    [
      'CPU per event (pipeline phase)',
      `${d.cpuMicrosPerEvent.toFixed(1)} µs`,
      [
        ...(d.mainThreadCpuMicrosPerEvent === undefined ? [] : [`main thread ${d.mainThreadCpuMicrosPerEvent.toFixed(1)} µs`]),
        // What the operators cost: the noop peer's process does the same pull, validation, row encoding and acks.
        // And as a multiple of the noop's: rates differ 2x between machines of one kind, this less.
        `above the noop ${micros(d.cpuMicrosPerEvent - d.noop.cpuMicrosPerEvent)} (${(d.cpuMicrosPerEvent / d.noop.cpuMicrosPerEvent).toFixed(2)}× its CPU)`,
        ...Object.entries(d.serverCpuMicrosPerEvent).map(([name, micros]) => `${name} ${micros.toFixed(1)} µs`),
      ].join(', '),
    ],
    ['checkpoints (pipeline phase)', '', formatCheckpoints(d.checkpoints)],
    ...(d.tracing
      ? [
          ['tracing (pipeline phase)', `${d.tracing.sample * 100} % sampled`, `${int(d.tracing.spans)} spans made, counted and dropped`] as [
            string,
            string,
            string,
          ],
        ]
      : []),
    [
      'latency p50',
      `${int(s.p50_latency_ms)} ms`,
      `at ${int(d.latencyRate)} events/s offered (${int(d.latencyAchievedRate)} achieved), ${int(d.latencyEvents)} events`,
    ],
    ['latency p99', `${int(s.p99_latency_ms)} ms`, `max ${int(d.latencyMaxMs)} ms`],
    [
      'latency in the warm-up',
      '',
      d.latencyWarmup.events === 0
        ? 'none'
        : `first ${d.latencyWarmup.seconds} s, ${int(d.latencyWarmup.events)} events, not counted above: p99 ${int(d.latencyWarmup.p99Ms)} ms, max ${int(d.latencyWarmup.maxMs)} ms`,
    ],
    [
      'CPU per event (latency phase)',
      '',
      Object.entries(d.latencyServerCpuMicrosPerEvent)
        .map(([name, micros]) => `${name} ${micros.toFixed(1)} µs`)
        .join(', '),
    ],
    ['checkpoints (latency phase)', '', formatCheckpoints(d.latencyCheckpoints)],
    ['peak RSS (pipeline phase)', `${int(s.peak_rss_mb)} MB`, `by quarter: ${d.rssQuartersMb.map(int).join(' / ')} MB`],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const header = `rxa bench · Node ${d.node} · ${d.machine.cpus} × ${d.machine.model}${d.machine.mhz > 0 ? ` at ${d.machine.mhz.toLocaleString('en-US')} MHz` : ''} · load average ${d.loadBefore.toFixed(2)} before, ${d.loadAfter.toFixed(2)} after`;
  return [header, ...rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`.trimEnd())].join('\n');
}

const round1 = (n: number): number => Math.round(n * 10) / 10;

/** Exactly the issue's keys (and `trace_sample` for a traced run), rounded: rates and MB to integers, ratios to 3 decimals, latencies to 1 ms, CPU to 0.1 µs. */
export function formatJson(s: BenchSummary): string {
  return JSON.stringify({
    events: s.events,
    pipeline_events_per_s: Math.round(s.pipeline_events_per_s),
    raw_consume_ack_events_per_s: Math.round(s.raw_consume_ack_events_per_s),
    raw_insert_rows_per_s: Math.round(s.raw_insert_rows_per_s),
    ratio: Math.round(s.ratio * 1000) / 1000,
    noop_events_per_s: Math.round(s.noop_events_per_s),
    ch_mv_events_per_s: Math.round(s.ch_mv_events_per_s),
    ratio_vs_noop: Math.round(s.ratio_vs_noop * 1000) / 1000,
    pipeline_cpu_us_per_event: round1(s.pipeline_cpu_us_per_event),
    nats_cpu_us_per_event: s.nats_cpu_us_per_event === null ? null : round1(s.nats_cpu_us_per_event),
    clickhouse_cpu_us_per_event: s.clickhouse_cpu_us_per_event === null ? null : round1(s.clickhouse_cpu_us_per_event),
    p50_latency_ms: Math.round(s.p50_latency_ms),
    p99_latency_ms: Math.round(s.p99_latency_ms),
    peak_rss_mb: Math.round(s.peak_rss_mb),
    ...(s.trace_sample !== undefined ? { trace_sample: s.trace_sample } : {}),
  } satisfies BenchSummary);
}
