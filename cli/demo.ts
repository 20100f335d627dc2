import type { RuntimeConfig } from '../core/config.ts';
import clickstream, { CLICKSTREAM_PARTITIONS } from '../pipelines/clickstream.ts';
import { runGenerator } from './gen.ts';
import { runCommand } from './run.ts';

/**
 * The demo: the clickstream generator and pipeline (all its partitions) in one process, one status line, until aborted,
 * with the live dashboards (and Prometheus /metrics) on http://127.0.0.1:<port>/.
 * Services are started beforehand by scripts/demo.sh (scripts/services.sh).
 */
export async function runDemo(config: RuntimeConfig, options: { rate: number; port?: number; signal: AbortSignal }): Promise<void> {
  let published = 0;
  console.log(`ClickHouse: ${config.clickhouse.url} database ${config.clickhouse.database} · NATS: ${config.nats.servers.join(',')}`);
  console.log('Ctrl-C stops the generator and the pipeline (the pipeline flushes, checkpoints and acks first).');
  const generator = runGenerator(
    config,
    {
      rate: options.rate,
      seed: Date.now() % 1_000_000,
      users: 5_000,
      partitions: CLICKSTREAM_PARTITIONS,
      duplicates: 0.01,
      outOfOrder: 0.02,
      late: 0.002,
      malformed: 0.005,
    },
    options.signal,
    (n) => (published = n),
  );
  const pipeline = runCommand(clickstream, config, {
    signal: options.signal,
    serve: options.port ?? 3100,
    statusPrefix: () => `published ${published.toLocaleString('en-US')}`,
    announce: (url) => console.log(`Live dashboards: ${url}  (Prometheus metrics: ${url}metrics)`),
  });
  await Promise.all([generator, pipeline]);
}
