import { defineTable } from '../sinks/clickhouse/table.ts';

/**
 * Where a dead letter or late event came from beyond the stream: the trace id of its producer's
 * span (W3C `traceparent`) and its correlation id (`ce-correlationid`), '' when the message had
 * none (core/trace-context.ts). Last in the tables: tables created before them get them added at
 * the end (sinks/clickhouse/added-columns.ts), in this order.
 */
const traceColumns = { trace_id: 'String', correlation_id: 'String' } as const;

/**
 * Tables every pipeline writes besides its own, so nothing it rejects is invisible:
 * dead letters (also published to the RXA_DLQ stream) and late events (the windows' side output).
 * Keyed by source position and stage, so a reprocessed message rewrites its row. Like every table,
 * they also carry `rxa_partition` (the partition that wrote the row; stream positions are unique
 * across partitions anyway).
 */
export const deadLettersTable = defineTable('rxa_dead_letters', {
  columns: {
    pipeline: 'String',
    stage: 'String',
    reason: 'String',
    /** The payload as UTF-8 text, or base64 when it is not valid UTF-8 (see payload_encoding). */
    payload: 'String',
    payload_encoding: 'String',
    source_subject: 'String',
    source_seq: 'UInt64',
    id: 'String',
    received_at: 'DateTime',
    ...traceColumns,
  },
  orderBy: ['pipeline', 'stage', 'source_seq', 'id'],
  partitionByMonth: 'received_at',
});

export const lateEventsTable = defineTable('rxa_late_events', {
  columns: {
    pipeline: 'String',
    stage: 'String',
    event_time: 'DateTime',
    watermark: 'DateTime',
    lateness_ms: 'UInt64',
    payload: 'String',
    source_seq: 'UInt64',
    ...traceColumns,
  },
  orderBy: ['pipeline', 'stage', 'source_seq'],
  partitionByMonth: 'event_time',
});

/**
 * Pipeline health, written by core/metrics.ts every few seconds: one row per metric (and stage and
 * kind for per-operator figures). Counters hold the increase since the previous row (sum them over
 * a range), gauges the value at `ts` (take the latest, max or avg). Read with FINAL. Each partition
 * of a pipeline reports under its `rxa_partition`: take gauges per partition, then sum.
 */
export const pipelineMetricsTable = defineTable('rxa_pipeline_metrics', {
  columns: {
    ts: 'DateTime',
    pipeline: 'String',
    metric: 'String',
    /** Operator id for per-stage metrics (`validate`, `dedupe`, `page-views`...), '' otherwise. */
    stage: 'String',
    /** What a per-stage figure counts (`in`, `out`, `invalid`, `duplicates`, `late`...), '' otherwise. */
    kind: 'String',
    value: 'Float64',
  },
  orderBy: ['pipeline', 'metric', 'stage', 'kind', 'ts'],
  partitionByMonth: 'ts',
});

export const systemTables = [deadLettersTable, lateEventsTable, pipelineMetricsTable] as const;
