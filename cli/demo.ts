import type { RuntimeConfig } from '../core/config.ts';
import { runPipeline } from '../core/runner.ts';
import clickstream from '../pipelines/clickstream.ts';
import { runGenerator } from './gen.ts';
import { statusPrinter } from './status-line.ts';

/**
 * The demo: the clickstream generator and pipeline in one process, one status line, until aborted.
 * Services are started beforehand by scripts/demo.sh (scripts/services.sh).
 */
export async function runDemo(config: RuntimeConfig, options: { rate: number; signal: AbortSignal }): Promise<void> {
  let published = 0;
  const printer = statusPrinter(true, () => `published ${published.toLocaleString('en-US')}`);
  console.log(`ClickHouse: ${config.clickhouse.url} database ${config.clickhouse.database} · NATS: ${config.nats.servers}`);
  console.log('Ctrl-C stops the generator and the pipeline (the pipeline flushes, checkpoints and acks first).');
  const generator = runGenerator(
    config,
    { rate: options.rate, seed: Date.now() % 1_000_000, users: 5_000, partitions: 4, duplicates: 0.01, outOfOrder: 0.02, late: 0.002, malformed: 0.005 },
    options.signal,
    (n) => (published = n),
  );
  const pipeline = runPipeline(clickstream, { config, signal: options.signal, onStatus: printer.status, onLog: printer.log });
  await Promise.all([generator, pipeline]);
  printer.done();
}
