import { type Assignment, runBalanced } from '../core/balancer.ts';
import type { RuntimeConfig } from '../core/config.ts';
import { tunePipelineHeap } from '../core/heap-tuning.ts';
import type { PipelineDefinition } from '../core/pipeline.ts';
import { type PartitionResult, type RunPartitionsOptions, runPartitions } from '../core/run-partitions.ts';
import { startTracing } from '../core/tracing.ts';
import { startObservability } from './observe.ts';
import { partitionStatuses } from './partition-status.ts';
import { formatAssignment, type StatusPrefix, statusPrinter } from './status-line.ts';

export interface RunCommandOptions extends Pick<RunPartitionsOptions, 'signal' | 'partitions' | 'statusIntervalMs'> {
  /** No live status line (log lines are still printed). */
  readonly quiet?: boolean;
  /** Serve the live dashboards and Prometheus `/metrics` on this port. */
  readonly serve?: number;
  /** Called besides the status line and the metrics (the benchmark measures through it). */
  readonly onStatus?: RunPartitionsOptions['onStatus'];
  /** Called besides printing the message. */
  readonly onLog?: (message: string) => void;
  /** Figures shown before the pipeline's on the status line (the demo's generator). */
  readonly statusPrefix?: StatusPrefix;
  /** Tells where the live page is, once it serves, instead of the default log line. */
  readonly announce?: (url: string) => void;
}

/**
 * `rxa run`: a pipeline with everything the command adds around it (heap tuning, health metrics to
 * ClickHouse, the live status line, the page with `serve`), until `signal` aborts. `rxa demo` and
 * the benchmark's pipeline processes run it through here too, so they load and do what `rxa run` does.
 * A partitioned pipeline without `partitions` shares its partitions with the other processes that
 * run it so (core/balancer.ts); with `partitions`, it runs those.
 */
export async function runCommand(definition: PipelineDefinition, config: RuntimeConfig, options: RunCommandOptions): Promise<PartitionResult[]> {
  const { partitions, serve, onStatus, onLog } = options;
  const count = definition.source.partitions?.count;
  const balanced = count !== undefined && partitions === undefined;
  let assignment: Assignment | undefined;
  const prefix = balanced
    ? () =>
        [options.statusPrefix?.(), assignment ? formatAssignment(assignment) : `partitions none of ${count}`].filter((part) => part !== undefined).join(' | ')
    : options.statusPrefix;
  const printer = statusPrinter(!options.quiet, prefix);
  const log = (message: string): void => {
    printer.log(message);
    onLog?.(message);
  };
  tunePipelineHeap(config.heapGrowingPercent);
  // Health metrics go to rxa_pipeline_metrics always; the page and /metrics only with `serve`.
  const observability = await startObservability(config, definition.name, {
    ...(serve !== undefined ? { serve } : {}),
    dashboards: definition.dashboards,
    onLog: log,
  });
  if (observability.url) {
    if (options.announce) options.announce(observability.url);
    else log(`live dashboards: ${observability.url} · Prometheus metrics: ${observability.url}metrics`);
  }
  if (count !== undefined && partitions) log(`running partitions ${partitions.join(',')} of ${count}`);
  const statuses = partitionStatuses();
  const runOptions: RunPartitionsOptions = {
    config,
    signal: options.signal,
    ...(options.statusIntervalMs !== undefined ? { statusIntervalMs: options.statusIntervalMs } : {}),
    onStatus: (status, target) => {
      printer.status(statuses.update(target.partition, status));
      observability.onStatus(status, target.partition);
      onStatus?.(status, target);
    },
    onLog: log,
  };
  // Spans only when the OTEL_* variables ask for them (core/tracing.ts); a provider registered by the caller is used as it is.
  const tracing = await startTracing({ log });
  try {
    if (!balanced) return await runPartitions(definition, { ...runOptions, ...(partitions ? { partitions } : {}) });
    return await runBalanced(definition, {
      ...runOptions,
      onAssignment: (a) => {
        assignment = a;
        log(`running ${formatAssignment(a)}`);
      },
      onReleased: (partition) => {
        statuses.remove(partition);
        void observability.released(partition);
      },
    });
  } finally {
    printer.done();
    await observability.close();
    await tracing.shutdown();
  }
}
