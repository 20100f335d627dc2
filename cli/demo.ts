import type { RuntimeConfig } from '../core/config.ts';
import { tunePipelineHeap } from '../core/heap-tuning.ts';
import { runPartitions } from '../core/run-partitions.ts';
import clickstream, { CLICKSTREAM_PARTITIONS } from '../pipelines/clickstream.ts';
import { runGenerator } from './gen.ts';
import { startObservability } from './observe.ts';
import { partitionStatuses } from './partition-status.ts';
import { statusPrinter } from './status-line.ts';

/**
 * The demo: the clickstream generator and pipeline (all its partitions) in one process, one status line, until aborted,
 * with the live dashboards (and Prometheus /metrics) on http://127.0.0.1:<port>/.
 * Services are started beforehand by scripts/demo.sh (scripts/services.sh).
 */
export async function runDemo(config: RuntimeConfig, options: { rate: number; port?: number; signal: AbortSignal }): Promise<void> {
  tunePipelineHeap(config.heapGrowingPercent);
  let published = 0;
  const printer = statusPrinter(true, () => `published ${published.toLocaleString('en-US')}`);
  console.log(`ClickHouse: ${config.clickhouse.url} database ${config.clickhouse.database} · NATS: ${config.nats.servers}`);
  const observability = await startObservability(config, clickstream.name, { serve: options.port ?? 3100, onLog: printer.log });
  if (observability.url) console.log(`Live dashboards: ${observability.url}  (Prometheus metrics: ${observability.url}metrics)`);
  console.log('Ctrl-C stops the generator and the pipeline (the pipeline flushes, checkpoints and acks first).');
  try {
    const generator = runGenerator(
      config,
      { rate: options.rate, seed: Date.now() % 1_000_000, users: 5_000, partitions: CLICKSTREAM_PARTITIONS, duplicates: 0.01, outOfOrder: 0.02, late: 0.002, malformed: 0.005 },
      options.signal,
      (n) => (published = n),
    );
    const statuses = partitionStatuses();
    const pipeline = runPartitions(clickstream, {
      config,
      signal: options.signal,
      onStatus: (status, target) => {
        printer.status(statuses.update(target.partition, status));
        observability.onStatus(status, target.partition);
      },
      onLog: printer.log,
    });
    await Promise.all([generator, pipeline]);
  } finally {
    printer.done();
    await observability.close();
  }
}
