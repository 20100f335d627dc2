/**
 * MetricsReporter: Prometheus text from statuses, and rxa_pipeline_metrics rows (counter increases,
 * gauges) written to the real ClickHouse (RXA_CLICKHOUSE_URL); a dead ClickHouse is logged, not thrown.
 */
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { testId } from '../test/support/helpers.ts';
import { type MetricRow, MetricsReporter } from './metrics.ts';
import { emptyStatus, type PipelineStatus } from './runner.ts';

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

function status(overrides: Partial<PipelineStatus> = {}): PipelineStatus {
  return { ...emptyStatus(), ...overrides };
}

const byKey = (rows: MetricRow[]) => Object.fromEntries(rows.map((r) => [[r.metric, r.stage, r.kind].filter(Boolean).join(':'), r.value]));

describe('MetricsReporter → Prometheus', () => {
  it('exposes counters, gauges, per-stage counts and the watermark delay', async () => {
    let now = T0;
    const reporter = new MetricsReporter({ pipeline: 'orders', now: () => now });
    reporter.update(
      status({
        eventsIn: 120,
        eventsPerSecond: 40,
        lag: 7,
        ackPending: 300,
        deadLetters: 2,
        lateEvents: 1,
        sinkRetries: 3,
        lastFlushMs: 250,
        operators: {
          'validate.in': 120,
          'validate.invalid': 2,
          'dedupe.duplicates': 5,
          'enrich.pending': 4,
          'revenue.watermark': T0 - 6_500,
          'unique.watermark': -Infinity,
        },
      }),
    );
    now += 1_000;
    reporter.update(status({ eventsIn: 150, deadLetters: 2, lastCheckpointBytes: 4_000_000, lastCheckpointMs: 1_500, operators: { 'validate.in': 150 } }));
    const text = await reporter.registry.metrics();
    const line = (name: string) => text.split('\n').find((l) => l.startsWith(name));
    expect(line('rxa_events_in_total')).toBe('rxa_events_in_total{pipeline="orders"} 150');
    expect(line('rxa_consumer_lag')).toBe('rxa_consumer_lag{pipeline="orders"} 0');
    expect(line('rxa_dead_letters_total')).toBe('rxa_dead_letters_total{pipeline="orders"} 2');
    expect(line('rxa_stage_events_total{stage="validate",kind="in"')).toBe('rxa_stage_events_total{stage="validate",kind="in",pipeline="orders"} 150');
    expect(line('rxa_stage_events_total{stage="dedupe"')).toBe('rxa_stage_events_total{stage="dedupe",kind="duplicates",pipeline="orders"} 5');
    expect(line('rxa_stage_state{stage="enrich"')).toBe('rxa_stage_state{stage="enrich",kind="pending",pipeline="orders"} 4');
    expect(line('rxa_watermark_delay_seconds{stage="revenue"')).toBe('rxa_watermark_delay_seconds{stage="revenue",pipeline="orders"} 6.5');
    expect(line('rxa_watermark_delay_seconds{stage="unique"')).toBeUndefined();
    expect(text).toContain('# TYPE rxa_sink_retries_total counter');
    expect(text).toContain('# TYPE rxa_sink_flush_seconds gauge');
    expect(line('rxa_checkpoint_bytes')).toBe('rxa_checkpoint_bytes{pipeline="orders"} 4000000');
    expect(line('rxa_checkpoint_save_seconds')).toBe('rxa_checkpoint_save_seconds{pipeline="orders"} 1.5');
  });

  it('counts the fields tolerant reading dropped per field name (paths with dots included), apart from the stage counters', async () => {
    const reporter = new MetricsReporter({ pipeline: 'orders', now: () => T0 });
    reporter.update(status({ operators: { 'validate.in': 10, 'validate.unknown_field:session_hint': 3, 'validate.unknown_field:device.os': 1 } }));
    const text = await reporter.registry.metrics();
    expect(text).toContain('rxa_unknown_fields_total{stage="validate",kind="session_hint",pipeline="orders"} 3');
    expect(text).toContain('rxa_unknown_fields_total{stage="validate",kind="device.os",pipeline="orders"} 1');
    expect(text).not.toContain('kind="unknown_field');
    expect(byKey(reporter.pendingRows())).toMatchObject({
      'stage_events:validate:in': 10,
      'unknown_fields:validate:session_hint': 3,
      'unknown_fields:validate:device.os': 1,
    });
  });

  it('restarts a counter whose source went back (a new process)', async () => {
    const reporter = new MetricsReporter({ pipeline: 'p' });
    reporter.update(status({ eventsIn: 100 }));
    reporter.update(status({ eventsIn: 10 }));
    expect(await reporter.registry.metrics()).toContain('rxa_events_in_total{pipeline="p"} 10');
  });
});

describe('MetricsReporter → rxa_pipeline_metrics', () => {
  const url = process.env.RXA_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
  const database = `rxa_metrics_test_${testId()}`;
  const client = createClient({ url, log: { level: ClickHouseLogLevel.OFF } });

  afterAll(async () => {
    await client.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
    await client.close();
  });

  it('writes counter increases and gauge values; restored counters start from their first value', async () => {
    let now = T0;
    const logs: string[] = [];
    const reporter = new MetricsReporter({ pipeline: 'orders', clickhouse: { client, database }, now: () => now, onLog: (m) => logs.push(m) });
    await reporter.start();
    expect(reporter.pendingRows()).toEqual([]);

    // rowsWritten 1000 comes from the checkpoint: not an increase. eventsIn counts this process from 0.
    reporter.update(status({ eventsIn: 50, rowsWritten: 1_000, lag: 9, operators: { 'validate.in': 50, 'w.watermark': T0 - 5_000 } }));
    await reporter.flush();
    now += 5_000;
    reporter.update(status({ eventsIn: 80, rowsWritten: 1_030, lag: 3, operators: { 'validate.in': 80, 'w.watermark': T0 } }));
    await reporter.close();

    const result = await client.query({
      query: `SELECT toUInt32(ts) * 1000 AS ts, metric, stage, kind, value FROM \`${database}\`.rxa_pipeline_metrics FINAL WHERE metric IN ('events_in', 'rows_written', 'consumer_lag', 'stage_events', 'watermark_delay_s') ORDER BY metric, ts`,
      format: 'JSONEachRow',
    });
    const rows = (await result.json<{ ts: number; metric: string; stage: string; kind: string; value: number }>()).map(
      (r) => `${r.ts - T0} ${r.metric}${r.stage ? ` ${r.stage}` : ''}${r.kind ? ` ${r.kind}` : ''} = ${r.value}`,
    );
    expect(rows).toEqual([
      '0 consumer_lag = 9',
      '5000 consumer_lag = 3',
      '0 events_in = 50',
      '5000 events_in = 30',
      '0 rows_written = 0',
      '5000 rows_written = 30',
      '0 stage_events validate in = 50',
      '5000 stage_events validate in = 30',
      '0 watermark_delay_s w = 5',
      '5000 watermark_delay_s w = 5',
    ]);
    expect(logs).toEqual([]);
  });

  it('logs a failed write once, never throws, and carries the increase into the next write', async () => {
    let now = T0;
    const logs: string[] = [];
    const dead = createClient({ url: 'http://127.0.0.1:1', log: { level: ClickHouseLogLevel.OFF } });
    const reporter = new MetricsReporter({ pipeline: 'p', clickhouse: { client: dead, database: 'nowhere' }, now: () => now, onLog: (m) => logs.push(m) });
    await reporter.start();
    reporter.update(status({ eventsIn: 10 }));
    await reporter.flush();
    now += 5_000;
    reporter.update(status({ eventsIn: 25 }));
    await reporter.close();
    await dead.close();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^metrics: writing rxa_pipeline_metrics failed \(will retry\): .*ECONNREFUSED/);
    expect(byKey(reporter.pendingRows())).toMatchObject({ events_in: 25 });
    expect(await reporter.registry.metrics()).toContain('rxa_metrics_write_errors_total{pipeline="p"} 3');
  });

  it('keeps the rows and series of two partitions apart (one reporter each, one registry)', async () => {
    const registry = new Registry();
    const reporters = [0, 1].map(
      (partition) => new MetricsReporter({ pipeline: 'parts', partition, registry, clickhouse: { client, database }, now: () => T0 }),
    );
    for (const r of reporters) await r.start();
    reporters[0]!.update(status({ eventsIn: 40, lag: 2 }));
    reporters[1]!.update(status({ eventsIn: 60, lag: 5 }));
    const text = await registry.metrics();
    expect(text).toContain('rxa_events_in_total{partition="0",pipeline="parts"} 40');
    expect(text).toContain('rxa_events_in_total{partition="1",pipeline="parts"} 60');
    for (const r of reporters) await r.close();
    // Same pipeline, metric and second: without rxa_partition in the key, one row would replace the other.
    const result = await client.query({
      query: `SELECT rxa_partition, metric, value FROM \`${database}\`.rxa_pipeline_metrics FINAL WHERE pipeline = 'parts' AND metric IN ('events_in', 'consumer_lag') ORDER BY rxa_partition, metric`,
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([
      { rxa_partition: 0, metric: 'consumer_lag', value: 2 },
      { rxa_partition: 0, metric: 'events_in', value: 40 },
      { rxa_partition: 1, metric: 'consumer_lag', value: 5 },
      { rxa_partition: 1, metric: 'events_in', value: 60 },
    ]);
  });

  it('moves a row on a second when two writes fall in the same second', async () => {
    const reporter = new MetricsReporter({ pipeline: 'p', clickhouse: { client, database }, now: () => T0 + 400 });
    await reporter.start();
    reporter.update(status({ eventsIn: 1 }));
    await reporter.flush();
    expect(reporter.pendingRows()[0]?.ts).toBe(T0 + 1_000);
    await reporter.close();
  });
});

describe('MetricsReporter: the partition held', () => {
  it('reports the process holding the partition (1), and 0 with its series off /metrics once released', async () => {
    const registry = new Registry();
    const reporter = new MetricsReporter({ pipeline: 'orders', partition: 3, holder: 'host-a pid 42', registry });
    reporter.update(status({ eventsIn: 10 }));
    expect(byKey(reporter.pendingRows())['partition_held:host-a pid 42']).toBe(1);
    const line = async (name: string) => (await registry.metrics()).split('\n').find((l) => l.startsWith(name));
    expect(await line('rxa_partition_held{')).toBe('rxa_partition_held{holder="host-a pid 42",partition="3",pipeline="orders"} 1');
    expect(await line('rxa_events_in_total{')).toBe('rxa_events_in_total{partition="3",pipeline="orders"} 10');

    await reporter.release();
    expect(byKey(reporter.pendingRows())['partition_held:host-a pid 42']).toBe(0);
    expect(await line('rxa_partition_held{')).toBeUndefined();
    expect(await line('rxa_events_in_total{')).toBeUndefined();
  });
});
