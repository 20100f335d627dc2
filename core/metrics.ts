import type { ClickHouseClient } from '@clickhouse/client';
import { Counter, Gauge, Registry } from 'prom-client';
import { errorMessage } from '../common/error-message.ts';
import { ensureTables } from '../sinks/clickhouse/schema.ts';
import type { TableRow } from '../sinks/clickhouse/table.ts';
import { ClickHouseWriter } from '../sinks/clickhouse/writer.ts';
import type { PipelineStatus } from './runner.ts';
import { pipelineMetricsTable } from './system-tables.ts';

/**
 * Pipeline health from the runner's status (`runPipeline({ onStatus: reporter.update })`), in two
 * places:
 *
 * - a prom-client Registry (`reporter.registry`; its own, or one shared by the reporters of a
 *   process's partitions, labelled `partition`), served as Prometheus text on
 *   `/metrics` by live/server.ts: `rxa_events_in_total{pipeline}`, `rxa_consumer_lag`,
 *   `rxa_ack_pending`, `rxa_stage_events_total{stage,kind}`, `rxa_watermark_delay_seconds{stage}`,
 *   `rxa_late_events_total`, `rxa_dead_letters_total`, `rxa_unknown_fields_total{stage,kind}` (kind: the
 *   field's path), `rxa_sink_flush_seconds`,
 *   `rxa_sink_retries_total`...;
 * - rows in ClickHouse (`rxa_pipeline_metrics`, every `intervalMs`), which the pipeline health
 *   dashboard reads. Counters are written as the increase since the previous row, so a range sums
 *   correctly across restarts; gauges as their value at the time. Rows carry the reporter's
 *   partition (`rxa_partition`), so the instances running a pipeline's partitions never replace
 *   each other's rows.
 *
 * Metrics never hurt the pipeline: a failed write is logged and its increases are carried into the
 * next one.
 */

export interface MetricsReporterOptions {
  pipeline: string;
  /**
   * Where to write `rxa_pipeline_metrics` rows (the table is named in full: give a client without a
   * default database, which may not exist yet); without it, only the Prometheus registry is kept.
   */
  clickhouse?: { client: ClickHouseClient; database: string; cluster?: string | undefined };
  /**
   * The partition whose statuses this reporter gets (one reporter per partition: their counters
   * restart independently): rows' `rxa_partition` and the Prometheus label `partition`.
   * @default unpartitioned (rows under 0, no label)
   */
  partition?: number;
  /**
   * The process running the partition (`<host> pid <pid>`): reported as `partition_held` (kind: the
   * process; 1 while it runs the partition, 0 once it handed it over) and Prometheus
   * `rxa_partition_held{holder}`. @default not reported
   */
  holder?: string;
  /** Share one registry between the reporters of one process (one `/metrics`). @default a new one */
  registry?: Registry;
  /** @default 5_000 */
  intervalMs?: number;
  onLog?: (message: string) => void;
  /** Wall clock (tests pin it). @default Date.now */
  now?: () => number;
}

export type MetricRow = TableRow<typeof pipelineMetricsTable>;

/** Operator counters that are levels, not event counts. */
const STAGE_GAUGES = new Set(['keys', 'pending', 'cached', 'windowsOpen']);

/** How validate names its count of a field it dropped (operators/validate.ts): `<stage>.unknown_field:<path>`. */
const UNKNOWN_FIELD = '.unknown_field:';

/** Status counters and their names in the table and in Prometheus. */
const COUNTERS = [
  { field: 'eventsIn', metric: 'events_in', help: 'Messages consumed by this process' },
  { field: 'rowsWritten', metric: 'rows_written', help: 'Rows written to ClickHouse' },
  { field: 'deadLetters', metric: 'dead_letters', help: 'Messages sent to the dead-letter stream' },
  { field: 'lateEvents', metric: 'late_events', help: 'Events too late for their window' },
  { field: 'sinkRetries', metric: 'sink_retries', help: 'ClickHouse insert retries' },
  { field: 'flushes', metric: 'sink_flushes', help: 'Writes (cuts) to ClickHouse completed' },
  { field: 'checkpoints', metric: 'checkpoints', help: 'Checkpoints saved (each followed by an ack)' },
] as const satisfies ReadonlyArray<{ field: keyof PipelineStatus; metric: string; help: string }>;

/** Gauges kept in ms in rxa_pipeline_metrics (`<name>_ms`) and in seconds in Prometheus (`rxa_<name>_seconds`). */
const MILLISECOND_GAUGES = new Set<string>(['sink_flush_ms', 'checkpoint_save_ms']);

/** Counted by this process from 0; the others are restored from the checkpoint (their first value is not new). */
const PER_PROCESS = new Set<string>(['events_in', 'sink_flushes', 'checkpoints']);

/** One figure of a status: a counter (cumulative) or a gauge, keyed by metric, stage and kind. */
interface Sample {
  metric: string;
  stage: string;
  kind: string;
  value: number;
  counter: boolean;
}

export class MetricsReporter {
  readonly registry: Registry;
  readonly pipeline: string;
  private readonly options: MetricsReporterOptions;
  private readonly now: () => number;
  private readonly counters = new Map<string, Counter<string>>();
  private readonly gauges = new Map<string, Gauge<string>>();
  /** Last cumulative value given to each Prometheus counter series. */
  private readonly promCounted = new Map<string, number>();
  /** Cumulative counter values already written to ClickHouse. */
  private readonly written = new Map<string, number>();
  private latest: PipelineStatus | undefined;
  /** Whether the partition is run here (see `holder`): false after `release`. */
  private holding = true;
  /** The Prometheus series this reporter set, to remove them once the partition has gone elsewhere. */
  private readonly series = new Map<string, { name: string; labels: Record<string, string> }>();
  private lastRowTs = 0;
  private timer: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  private writing: Promise<void> | undefined;
  private failing = false;
  /** Writes the rows as the pipeline's sinks do (see sinks/clickhouse/writer.ts), once per flush. */
  private readonly writer: ClickHouseWriter | undefined;

  constructor(options: MetricsReporterOptions) {
    this.options = options;
    this.pipeline = options.pipeline;
    this.now = options.now ?? Date.now;
    this.registry = options.registry ?? new Registry();
    if (options.clickhouse) {
      // One attempt per flush (a signal that is already aborted stops the writer's retries): a
      // failed write is logged and its increases are carried into the next flush, never waited on.
      this.writer = new ClickHouseWriter(options.clickhouse.client, options.clickhouse.database, {
        partition: options.partition ?? 0,
        signal: AbortSignal.abort(),
      });
    }
    this.registry.setDefaultLabels({ pipeline: options.pipeline });
    for (const { metric, help } of COUNTERS) this.counter(`rxa_${metric}_total`, help);
    this.counter('rxa_stage_events_total', 'Per-operator event counts (in, out, invalid, duplicates, late...)', ['stage', 'kind']);
    this.counter('rxa_unknown_fields_total', 'Fields the schema does not declare, dropped by tolerant reading, per field (kind: its path)', ['stage', 'kind']);
    this.gauge('rxa_events_per_second', 'Messages consumed per second, over the last status interval');
    this.gauge('rxa_consumer_lag', 'Messages in the stream not yet delivered to the consumer (JetStream num_pending)');
    this.gauge('rxa_ack_pending', 'Messages delivered and not yet acked (acks happen at checkpoints)');
    this.gauge('rxa_sink_flush_seconds', 'Duration of the last write to ClickHouse, from cut to every row written');
    this.gauge('rxa_checkpoint_bytes', 'Size of the last checkpoint saved');
    this.gauge('rxa_checkpoint_written_bytes', 'Bytes the last checkpoint save wrote (what changed since the one before)');
    this.gauge('rxa_checkpoint_save_seconds', 'Duration of the last checkpoint save (encoding and upload)');
    this.gauge('rxa_last_seq', 'Last stream sequence folded into state');
    this.gauge('rxa_acked_seq', 'Last stream sequence acked');
    this.gauge('rxa_stage_state', 'Per-operator levels (pending lookups, cached keys, open windows...)', ['stage', 'kind']);
    this.gauge('rxa_watermark_delay_seconds', 'Wall clock minus the window watermark, per window stage', ['stage']);
    this.gauge('rxa_partition_held', 'The process (host and pid) running the partition: 1 while it runs it', ['holder']);
    this.counter('rxa_metrics_write_errors_total', 'Failed writes of rxa_pipeline_metrics rows');
  }

  /**
   * Feed a status (pass as `onStatus`). Updates the Prometheus registry at once; the first one is
   * written to ClickHouse at once too, with `holder`: a partition that moved shows where it went.
   */
  readonly update = (status: PipelineStatus): void => {
    if (this.latest === undefined && this.options.holder !== undefined) void this.started?.then(() => this.flush());
    this.latest = status;
    for (const sample of this.samples(status, this.now())) {
      const labels = {
        ...(sample.stage ? { stage: sample.stage } : {}),
        ...(sample.kind ? { [sample.metric === 'partition_held' ? 'holder' : 'kind']: sample.kind } : {}),
        ...(this.options.partition !== undefined ? { partition: String(this.options.partition) } : {}),
      };
      const name = this.promName(sample);
      this.series.set(`${name}${JSON.stringify(labels)}`, { name, labels });
      if (sample.counter) this.count(name, labels, sample.value);
      else this.gauges.get(name)?.set(labels, MILLISECOND_GAUGES.has(sample.metric) ? sample.value / 1000 : sample.value);
    }
  };

  /** Create the table (if writing to ClickHouse) and write rows every `intervalMs` until `close()`. */
  start(): Promise<void> {
    this.started ??= (async () => {
      const target = this.options.clickhouse;
      if (target) {
        await ensureTables(target.client, target.database, [pipelineMetricsTable], { cluster: target.cluster }).catch((error: unknown) => this.failed(error));
      }
      this.timer ??= setInterval(() => void this.flush(), this.options.intervalMs ?? 5_000);
      this.timer.unref();
    })();
    return this.started;
  }

  /**
   * The rows for the latest status (counter increases since the last successful write, gauge
   * values now). Empty before the first status.
   */
  pendingRows(): MetricRow[] {
    return this.build().rows;
  }

  private build(): { rows: MetricRow[]; cumulative: Map<string, number> } {
    const status = this.latest;
    const cumulative = new Map<string, number>();
    if (!status) return { rows: [], cumulative };
    const now = this.now();
    // One row per key and second; a write in the same second as the previous one moves on a second.
    const ts = Math.max(Math.floor(now / 1000) * 1000, this.lastRowTs + 1000);
    const rows = this.samples(status, now).map(({ metric, stage, kind, value, counter }): MetricRow => {
      if (counter) cumulative.set(key(metric, stage, kind), value);
      return { ts, pipeline: this.pipeline, metric, stage, kind, value: counter ? value - this.writtenValue(metric, stage, kind, value) : value };
    });
    return { rows, cumulative };
  }

  /** Write the pending rows now (no-op without ClickHouse or before the first status). Never throws. */
  flush(): Promise<void> {
    this.writing ??= this.write().finally(() => (this.writing = undefined));
    return this.writing;
  }

  /**
   * The partition went to another process (automatic balancing): write its last rows, with
   * `partition_held` 0, and take its series off this process's `/metrics`.
   */
  async release(): Promise<void> {
    this.holding = false;
    // At once: the partition may come back to this process, whose new reporter sets the same series.
    for (const { name, labels } of this.series.values()) (this.counters.get(name) ?? this.gauges.get(name))?.remove(labels);
    this.series.clear();
    this.promCounted.clear();
    await this.close();
  }

  /** Stop the timer and write what the last status added. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.writing;
    await this.flush();
  }

  private async write(): Promise<void> {
    const writer = this.writer;
    if (!writer) return;
    const { rows, cumulative } = this.build();
    if (rows.length === 0) return;
    let rejected: number;
    try {
      rejected = (await writer.insert(pipelineMetricsTable, rows)).rejected.length;
    } catch (error) {
      this.failed(error);
      return;
    }
    if (this.failing) this.options.onLog?.('metrics: writing rxa_pipeline_metrics works again');
    this.failing = false;
    if (rejected > 0) {
      // Not expected (values are finite numbers, strings are escaped): the writer isolated the rows
      // the server refused and wrote the others, so the increases are not carried (they would be
      // written twice); the refused rows' are lost, and said so.
      this.counters.get('rxa_metrics_write_errors_total')?.inc();
      this.options.onLog?.(`metrics: the server rejected ${rejected} of ${rows.length} rxa_pipeline_metrics rows`);
    }
    this.lastRowTs = rows[0]!.ts;
    // The increases are written: the next row starts from the cumulative values they were taken from.
    for (const [k, value] of cumulative) this.written.set(k, value);
  }

  private failed(error: unknown): void {
    this.counters.get('rxa_metrics_write_errors_total')?.inc();
    // Once per outage: the pipeline's own log already says when ClickHouse is down.
    if (!this.failing) this.options.onLog?.(`metrics: writing rxa_pipeline_metrics failed (will retry): ${errorMessage(error)}`);
    this.failing = true;
  }

  private writtenValue(metric: string, stage: string, kind: string, current: number): number {
    const k = key(metric, stage, kind);
    let base = this.written.get(k);
    if (base === undefined) {
      // Restored from a checkpoint, the first value is history, not an increase.
      base = PER_PROCESS.has(metric) || stage ? 0 : current;
      this.written.set(k, base);
    }
    // A counter that went down was restarted: count from 0.
    return base > current ? 0 : base;
  }

  private samples(status: PipelineStatus, now: number): Sample[] {
    const out: Sample[] = [];
    const add = (metric: string, value: number, counter: boolean, stage = '', kind = ''): void => {
      if (Number.isFinite(value)) out.push({ metric, stage, kind, value, counter });
    };
    for (const { field, metric } of COUNTERS) add(metric, status[field], true);
    add('events_per_second', status.eventsPerSecond, false);
    add('consumer_lag', status.lag, false);
    add('ack_pending', status.ackPending, false);
    add('sink_flush_ms', status.lastFlushMs, false);
    add('checkpoint_bytes', status.lastCheckpointBytes, false);
    add('checkpoint_written_bytes', status.lastCheckpointWrittenBytes, false);
    add('checkpoint_save_ms', status.lastCheckpointMs, false);
    add('last_seq', status.lastSeq, false);
    add('acked_seq', status.ackedSeq, false);
    if (this.options.holder !== undefined) add('partition_held', this.holding ? 1 : 0, false, '', this.options.holder);
    for (const [name, value] of Object.entries(status.operators)) {
      // `<validate id>.unknown_field:<path>`: fields dropped by tolerant reading, per field (whose path may contain dots).
      const unknown = name.indexOf(UNKNOWN_FIELD);
      if (unknown > 0) {
        add('unknown_fields', value, true, name.slice(0, unknown), name.slice(unknown + UNKNOWN_FIELD.length));
        continue;
      }
      // `<operator id>.<figure>`; ids may contain dots, figures do not.
      const dot = name.lastIndexOf('.');
      if (dot <= 0) continue;
      const stage = name.slice(0, dot);
      const kind = name.slice(dot + 1);
      if (kind === 'watermark') {
        // -Infinity before the first event, +Infinity once a bounded input has ended: no delay to report.
        if (Number.isFinite(value)) add('watermark_delay_s', Math.max(0, (now - value) / 1000), false, stage);
      } else add(STAGE_GAUGES.has(kind) ? 'stage_state' : 'stage_events', value, !STAGE_GAUGES.has(kind), stage, kind);
    }
    return out;
  }

  private promName(sample: Sample): string {
    if (MILLISECOND_GAUGES.has(sample.metric)) return `rxa_${sample.metric.slice(0, -'_ms'.length)}_seconds`;
    switch (sample.metric) {
      case 'stage_events':
        return 'rxa_stage_events_total';
      case 'watermark_delay_s':
        return 'rxa_watermark_delay_seconds';
      default:
        return sample.counter ? `rxa_${sample.metric}_total` : `rxa_${sample.metric}`;
    }
  }

  /** Prometheus counters only go up: add the increase of a cumulative value, restart on a reset. */
  private count(name: string, labels: Record<string, string>, value: number): void {
    const counter = this.counters.get(name);
    if (!counter) return;
    const k = `${name}${JSON.stringify(labels)}`;
    const previous = this.promCounted.get(k) ?? 0;
    if (value < previous) counter.remove(labels);
    const increase = value < previous ? value : value - previous;
    if (increase > 0 || !this.promCounted.has(k)) counter.inc(labels, increase);
    this.promCounted.set(k, value);
  }

  // Another partition's reporter may have registered the metric in a shared registry already.
  private counter(name: string, help: string, labelNames: string[] = []): void {
    const existing = this.registry.getSingleMetric(name);
    this.counters.set(
      name,
      existing instanceof Counter ? existing : new Counter({ name, help, labelNames: [...labelNames, 'partition'], registers: [this.registry] }),
    );
  }

  private gauge(name: string, help: string, labelNames: string[] = []): void {
    const existing = this.registry.getSingleMetric(name);
    this.gauges.set(
      name,
      existing instanceof Gauge ? existing : new Gauge({ name, help, labelNames: [...labelNames, 'partition'], registers: [this.registry] }),
    );
  }
}

function key(metric: string, stage: string, kind: string): string {
  return `${metric}\u0000${stage}\u0000${kind}`;
}
