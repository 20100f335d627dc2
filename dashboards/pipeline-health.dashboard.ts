import { defineDashboard } from './definition.ts';
import { sql } from './sql.ts';

/**
 * Pipeline health, from `rxa_pipeline_metrics` (written by core/metrics.ts every 5 s: counters as
 * the increase since the previous row, gauges as their value then). Charts bucket by `step`
 * seconds, chosen so a range has at most ~240 points (10 s for 30 minutes, 6 min for 24 hours);
 * per-second rates leave out the bucket still filling. Every partition of a pipeline reports on its
 * own (`rxa_partition`): gauges are taken per partition, then summed. ClickHouse 18.16 compatible: scalar WITH,
 * intDiv instead of toStartOfInterval, GROUP BY aliases.
 * Generated: dashboards/pipeline-health.json (`npx tsx scripts/build-dashboards.ts`).
 */
export const pipelineHealthDashboard = defineDashboard({
  uid: 'rxa-pipeline-health',
  title: 'Pipeline health',
  description:
    'Throughput, consumer lag, watermarks, dead letters, sink latency and checkpoints of every rxa pipeline (table rxa_pipeline_metrics; the same figures are on /metrics).',
  tags: ['rxa', 'pipeline', 'health'],
  refresh: '5s',
  timeRange: 'now-30m',
  panels: [
    {
      title: 'Events in',
      type: 'stat',
      description: 'Messages consumed from JetStream in the range, every pipeline.',
      width: 4,
      height: 4,
      unit: 'short',
      decimals: 0,
      color: 'blue',
      sql: sql`
        SELECT sum(value) AS events_in
        FROM rxa_pipeline_metrics FINAL
        WHERE $__timeFilter(ts) AND metric = 'events_in'
      `,
    },
    {
      title: 'Events / s',
      type: 'stat',
      description: 'Messages consumed per second, every pipeline (the big number is the latest bucket).',
      width: 4,
      height: 4,
      unit: 'short',
      decimals: 0,
      color: 'blue',
      sparkline: true,
      sql: sql`
        SELECT time, sum(per_partition) AS events_per_s
        FROM
        (
            WITH greatest(10, intDiv(toUInt32($__toTime) - toUInt32($__fromTime), 240)) AS step
            SELECT toDateTime(intDiv(toUInt32(ts), step) * step) AS time, pipeline, rxa_partition, avg(value) AS per_partition
            FROM rxa_pipeline_metrics FINAL
            WHERE $__timeFilter(ts) AND metric = 'events_per_second'
            GROUP BY time, pipeline, rxa_partition
        )
        GROUP BY time
        ORDER BY time
      `,
    },
    {
      title: 'Consumer lag',
      type: 'stat',
      description: 'Messages in the streams not yet delivered to the pipelines (JetStream num_pending), latest report of each pipeline partition, summed.',
      width: 4,
      height: 4,
      unit: 'short',
      decimals: 0,
      color: 'green',
      thresholds: [
        { value: 10_000, color: 'orange' },
        { value: 100_000, color: 'red' },
      ],
      sql: sql`
        SELECT sum(latest) AS consumer_lag
        FROM
        (
            SELECT pipeline, rxa_partition, argMax(value, ts) AS latest
            FROM rxa_pipeline_metrics FINAL
            WHERE $__timeFilter(ts) AND metric = 'consumer_lag'
            GROUP BY pipeline, rxa_partition
        )
      `,
    },
    {
      title: 'Ack pending',
      type: 'stat',
      description: 'Messages delivered and not yet acked (acks follow each checkpoint), latest report of each pipeline partition, summed.',
      width: 4,
      height: 4,
      unit: 'short',
      decimals: 0,
      color: 'green',
      sql: sql`
        SELECT sum(latest) AS ack_pending
        FROM
        (
            SELECT pipeline, rxa_partition, argMax(value, ts) AS latest
            FROM rxa_pipeline_metrics FINAL
            WHERE $__timeFilter(ts) AND metric = 'ack_pending'
            GROUP BY pipeline, rxa_partition
        )
      `,
    },
    {
      title: 'Dead letters',
      type: 'stat',
      description: 'Messages sent to the dead-letter stream RXA_DLQ in the range.',
      width: 4,
      height: 4,
      unit: 'short',
      decimals: 0,
      color: 'green',
      thresholds: [{ value: 1, color: 'red' }],
      sql: sql`
        SELECT sum(value) AS dead_letters
        FROM rxa_pipeline_metrics FINAL
        WHERE $__timeFilter(ts) AND metric = 'dead_letters'
      `,
    },
    {
      title: 'Late events',
      type: 'stat',
      description: 'Events that arrived after their window closed (and its allowed lateness passed) in the range.',
      width: 4,
      height: 4,
      unit: 'short',
      decimals: 0,
      color: 'green',
      thresholds: [{ value: 1, color: 'orange' }],
      sql: sql`
        SELECT sum(value) AS late_events
        FROM rxa_pipeline_metrics FINAL
        WHERE $__timeFilter(ts) AND metric = 'late_events'
      `,
    },
    {
      title: 'Events in / out per stage',
      type: 'timeseries',
      description: 'Events per second into and out of each operator (validate: valid = out; windows: fired windows).',
      width: 12,
      height: 8,
      unit: 'short',
      sql: sql`
        WITH greatest(10, intDiv(toUInt32($__toTime) - toUInt32($__fromTime), 240)) AS step
        SELECT toDateTime(intDiv(toUInt32(ts), step) * step) AS time, concat(stage, ' ', kind) AS series, sum(value) / step AS per_second
        FROM rxa_pipeline_metrics FINAL
        WHERE $__timeFilter(ts) AND metric = 'stage_events' AND kind IN ('in', 'out', 'valid', 'fired')
            AND ts < toDateTime(intDiv(toUInt32($__toTime), step) * step)
        GROUP BY time, series
        ORDER BY time, series
      `,
    },
    {
      title: 'Consumer lag and ack pending',
      type: 'timeseries',
      description: 'JetStream num_pending (not yet delivered) and num_ack_pending (delivered, not acked) per pipeline (its partitions summed).',
      width: 12,
      height: 8,
      unit: 'short',
      decimals: 0,
      sql: sql`
        SELECT time, series, sum(per_partition) AS messages
        FROM
        (
            WITH greatest(10, intDiv(toUInt32($__toTime) - toUInt32($__fromTime), 240)) AS step
            SELECT toDateTime(intDiv(toUInt32(ts), step) * step) AS time, concat(pipeline, ' ', metric) AS series, rxa_partition, max(value) AS per_partition
            FROM rxa_pipeline_metrics FINAL
            WHERE $__timeFilter(ts) AND metric IN ('consumer_lag', 'ack_pending')
            GROUP BY time, series, rxa_partition
        )
        GROUP BY time, series
        ORDER BY time, series
      `,
    },
    {
      title: 'Watermark delay',
      type: 'timeseries',
      description: "Wall clock minus each window operator's watermark: how far event time trails real time (at least maxOutOfOrderMs).",
      width: 8,
      height: 8,
      unit: 's',
      sql: sql`
        WITH greatest(10, intDiv(toUInt32($__toTime) - toUInt32($__fromTime), 240)) AS step
        SELECT toDateTime(intDiv(toUInt32(ts), step) * step) AS time, stage, max(value) AS delay_s
        FROM rxa_pipeline_metrics FINAL
        WHERE $__timeFilter(ts) AND metric = 'watermark_delay_s'
        GROUP BY time, stage
        ORDER BY time, stage
      `,
    },
    {
      title: 'Sink batch latency',
      type: 'timeseries',
      description: 'Time from a cut to every one of its rows written to ClickHouse (the slowest write in each bucket).',
      width: 8,
      height: 8,
      unit: 'ms',
      decimals: 0,
      sql: sql`
        WITH greatest(10, intDiv(toUInt32($__toTime) - toUInt32($__fromTime), 240)) AS step
        SELECT toDateTime(intDiv(toUInt32(ts), step) * step) AS time, pipeline, max(value) AS flush_ms
        FROM rxa_pipeline_metrics FINAL
        WHERE $__timeFilter(ts) AND metric = 'sink_flush_ms'
        GROUP BY time, pipeline
        ORDER BY time, pipeline
      `,
    },
    {
      title: 'Dead letters, late events and sink retries',
      type: 'timeseries',
      description: 'Per bucket: messages dead-lettered, events too late for their window, ClickHouse insert retries (nonzero: the sink is or was unavailable).',
      width: 8,
      height: 8,
      unit: 'short',
      decimals: 0,
      style: 'bars',
      stacked: true,
      sql: sql`
        WITH greatest(10, intDiv(toUInt32($__toTime) - toUInt32($__fromTime), 240)) AS step
        SELECT toDateTime(intDiv(toUInt32(ts), step) * step) AS time, metric, sum(value) AS messages
        FROM rxa_pipeline_metrics FINAL
        WHERE $__timeFilter(ts) AND metric IN ('dead_letters', 'late_events', 'sink_retries')
        GROUP BY time, metric
        ORDER BY time, metric
      `,
    },
    {
      title: 'Checkpoint size and bytes written (MB)',
      type: 'timeseries',
      description:
        'Size of the last checkpoint saved (it follows the operator state: dedupe keys, open windows and sessions), and the bytes its save wrote (what changed since the checkpoint before), per pipeline, its partitions summed.',
      width: 12,
      height: 8,
      unit: 'short',
      decimals: 1,
      sql: sql`
        SELECT time, concat(pipeline, if(metric = 'checkpoint_bytes', ' size', ' written')) AS series, sum(per_partition) AS mb
        FROM
        (
            WITH greatest(10, intDiv(toUInt32($__toTime) - toUInt32($__fromTime), 240)) AS step
            SELECT toDateTime(intDiv(toUInt32(ts), step) * step) AS time, pipeline, metric, rxa_partition, max(value) / 1000000 AS per_partition
            FROM rxa_pipeline_metrics FINAL
            WHERE $__timeFilter(ts) AND metric IN ('checkpoint_bytes', 'checkpoint_written_bytes')
            GROUP BY time, pipeline, metric, rxa_partition
        )
        GROUP BY time, series
        ORDER BY time, series
      `,
    },
    {
      title: 'Checkpoint save time',
      type: 'timeseries',
      description:
        'How long saving the last checkpoint took, encoding and upload (the slowest partition in each bucket). Events keep flowing meanwhile; the acks of its input wait for it.',
      width: 12,
      height: 8,
      unit: 'ms',
      decimals: 0,
      sql: sql`
        WITH greatest(10, intDiv(toUInt32($__toTime) - toUInt32($__fromTime), 240)) AS step
        SELECT toDateTime(intDiv(toUInt32(ts), step) * step) AS time, pipeline, max(value) AS save_ms
        FROM rxa_pipeline_metrics FINAL
        WHERE $__timeFilter(ts) AND metric = 'checkpoint_save_ms'
        GROUP BY time, pipeline
        ORDER BY time, pipeline
      `,
    },
    {
      title: 'Stage throughput',
      type: 'barchart',
      description: 'Events into and out of each operator over the range.',
      width: 10,
      height: 9,
      unit: 'short',
      decimals: 0,
      xField: 'stage',
      sql: sql`
        SELECT stage, sumIf(value, kind = 'in') AS events_in, sumIf(value, kind IN ('out', 'valid')) AS events_out
        FROM rxa_pipeline_metrics FINAL
        WHERE $__timeFilter(ts) AND metric = 'stage_events'
        GROUP BY stage
        ORDER BY stage
      `,
    },
    {
      title: 'Operator counters',
      type: 'table',
      description: 'Every per-operator counter over the range: in/out, invalid, duplicates, cache hits and misses, late, fired windows...',
      width: 14,
      height: 9,
      sql: sql`
        SELECT pipeline, stage, kind, sum(value) AS events
        FROM rxa_pipeline_metrics FINAL
        WHERE $__timeFilter(ts) AND metric = 'stage_events'
        GROUP BY pipeline, stage, kind
        ORDER BY pipeline, stage, kind
      `,
    },
    {
      title: 'Unknown fields',
      type: 'table',
      description:
        'Fields of incoming events that the schema does not declare (a producer a version ahead), dropped by tolerant reading, per field, over the range. Declare them in a new schema version to keep them (docs/contracts.md).',
      width: 24,
      height: 6,
      sql: sql`
        SELECT pipeline, stage, kind AS field, sum(value) AS dropped, max(ts) AS last_seen
        FROM rxa_pipeline_metrics FINAL
        WHERE $__timeFilter(ts) AND metric = 'unknown_fields'
        GROUP BY pipeline, stage, field
        ORDER BY dropped DESC, pipeline, field
        LIMIT 100
      `,
    },
    {
      title: 'Pipelines',
      type: 'table',
      description: 'One row per pipeline: how many partitions reported, their latest reports (summed; flush time: the slowest) and totals over the range.',
      width: 24,
      height: 6,
      columns: { last_flush_ms: { unit: 'ms' } },
      sql: sql`
        SELECT
            pipeline,
            count() AS partitions,
            max(last_report) AS last_report,
            sum(events_in) AS events_in,
            sum(events_per_s) AS events_per_s,
            sum(consumer_lag) AS consumer_lag,
            sum(ack_pending) AS ack_pending,
            max(last_flush_ms) AS last_flush_ms,
            sum(sink_retries) AS sink_retries,
            sum(dead_letters) AS dead_letters,
            sum(late_events) AS late_events,
            sum(checkpoints) AS checkpoints
        FROM
        (
            SELECT
                pipeline,
                rxa_partition,
                max(ts) AS last_report,
                sumIf(value, metric = 'events_in') AS events_in,
                argMaxIf(value, ts, metric = 'events_per_second') AS events_per_s,
                argMaxIf(value, ts, metric = 'consumer_lag') AS consumer_lag,
                argMaxIf(value, ts, metric = 'ack_pending') AS ack_pending,
                argMaxIf(value, ts, metric = 'sink_flush_ms') AS last_flush_ms,
                sumIf(value, metric = 'sink_retries') AS sink_retries,
                sumIf(value, metric = 'dead_letters') AS dead_letters,
                sumIf(value, metric = 'late_events') AS late_events,
                sumIf(value, metric = 'checkpoints') AS checkpoints
            FROM rxa_pipeline_metrics FINAL
            WHERE $__timeFilter(ts)
            GROUP BY pipeline, rxa_partition
        )
        GROUP BY pipeline
        ORDER BY pipeline
      `,
    },
  ],
});
