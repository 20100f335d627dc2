import { describe, expect, it } from 'vitest';
import { type BenchDetails, type BenchSummary, formatJson, formatTable } from './report.ts';

const summary: BenchSummary = {
  events: 1_000_000,
  pipeline_events_per_s: 84_302.4,
  raw_consume_ack_events_per_s: 399_396,
  raw_insert_rows_per_s: 626_607,
  ratio: 0.21107,
  noop_events_per_s: 135_672,
  ch_mv_events_per_s: 131_563,
  ratio_vs_noop: 0.62137,
  pipeline_cpu_us_per_event: 11.14,
  nats_cpu_us_per_event: 3.61,
  clickhouse_cpu_us_per_event: null,
  p50_latency_ms: 246.4,
  p99_latency_ms: 470.2,
  peak_rss_mb: 241.3,
};

const checkpoints = { count: 2, maxBytes: 17_000_000, meanWrittenBytes: 15_600_000, meanMs: 266, maxMs: 419 };
const details: BenchDetails = {
  node: '20.20.2',
  machine: { cpus: 2, model: 'AMD EPYC', mhz: 2096 },
  publishSeconds: 6,
  rawConsumeSeconds: 2.5,
  rawInsertSeconds: 1.6,
  pipelineSeconds: 11.86,
  noop: { seconds: 7.37, cpuMicrosPerEvent: 6.2, serverCpuMicrosPerEvent: { 'nats-server': 3.5 } },
  materializedViews: { seconds: 7.6, cpuMicrosPerEvent: 6.2, serverCpuMicrosPerEvent: { 'nats-server': 3.5 } },
  rowsWritten: 1_160_871,
  deadLetters: 4_050,
  lateEvents: 9_960,
  rssQuartersMb: [193, 190, 209, 241],
  cpuMicrosPerEvent: 11.14,
  mainThreadCpuMicrosPerEvent: 9.4,
  serverCpuMicrosPerEvent: { 'nats-server': 3.61 },
  latencyRate: 20_000,
  latencyAchievedRate: 19_996,
  latencyEvents: 594_668,
  latencyMaxMs: 563,
  latencyWarmup: { seconds: 5, events: 99_011, p99Ms: 498, maxMs: 525 },
  latencyServerCpuMicrosPerEvent: { 'nats-server': 10.8 },
  checkpoints,
  latencyCheckpoints: checkpoints,
  loadBefore: 2.07,
  loadAfter: 1.99,
};

describe('bench report', () => {
  it('prints exactly the issue keys in the JSON line, rounded', () => {
    expect(JSON.parse(formatJson(summary))).toEqual({
      events: 1_000_000,
      pipeline_events_per_s: 84_302,
      raw_consume_ack_events_per_s: 399_396,
      raw_insert_rows_per_s: 626_607,
      ratio: 0.211,
      noop_events_per_s: 135_672,
      ch_mv_events_per_s: 131_563,
      ratio_vs_noop: 0.621,
      pipeline_cpu_us_per_event: 11.1,
      nats_cpu_us_per_event: 3.6,
      clickhouse_cpu_us_per_event: null,
      p50_latency_ms: 246,
      p99_latency_ms: 470,
      peak_rss_mb: 241,
    });
  });

  it('names the machine: CPUs, model and clock', () => {
    expect(formatTable(summary, details).split('\n')[0]).toBe('rxa bench · Node 20.20.2 · 2 × AMD EPYC at 2,096 MHz · load average 2.07 before, 1.99 after');
    expect(formatTable(summary, { ...details, machine: { ...details.machine, mhz: 0 } }).split('\n')[0]).toContain('2 × AMD EPYC · load');
  });

  it("shows the operators' CPU per event: the pipeline's above the noop peer's in the same run, and as a multiple of it", () => {
    const row = formatTable(summary, details)
      .split('\n')
      .find((line) => line.startsWith('CPU per event (pipeline phase)'));
    expect(row).toMatch(/ 11\.1 µs {2}main thread 9\.4 µs, above the noop 4\.9 µs \(1\.80× its CPU\), nats-server 3\.6 µs$/);
  });
});
