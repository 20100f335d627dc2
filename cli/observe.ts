import { createClickHouseClient } from '../core/clickhouse-client.ts';
import type { RuntimeConfig } from '../core/config.ts';
import { MetricsReporter } from '../core/metrics.ts';
import type { PipelineStatus } from '../core/runner.ts';
import { startLiveServer } from '../live/server.ts';

/**
 * What `rxa run` and `rxa demo` add around a pipeline: its health metrics written to ClickHouse
 * (rxa_pipeline_metrics, for the pipeline health dashboard) and, with a port, the live page and
 * Prometheus `/metrics` on http://127.0.0.1:<port>/. Nothing here can stop the pipeline: metrics
 * failures are logged, and a busy port only costs the page.
 */
export interface Observability {
  /** Feed the pipeline's status here (`onStatus`). */
  onStatus(status: PipelineStatus): void;
  /** The live page, when it is served. */
  url: string | undefined;
  /** Write the last metrics, stop the server, close the connection. */
  close(): Promise<void>;
}

export async function startObservability(
  config: RuntimeConfig,
  pipeline: string,
  options: { serve?: number; onLog: (message: string) => void },
): Promise<Observability> {
  // The reporter names its table in full and creates the database if needed, so its client has no
  // default database (a request to a database that does not exist yet fails). The page's has one.
  const writer = createClickHouseClient(config.clickhouse);
  const clickhouse = createClickHouseClient(config.clickhouse, config.clickhouse.database);
  const reporter = new MetricsReporter({ pipeline, clickhouse: { client: writer, database: config.clickhouse.database }, onLog: options.onLog });
  await reporter.start();
  let server: Awaited<ReturnType<typeof startLiveServer>> | undefined;
  if (options.serve !== undefined) {
    try {
      server = await startLiveServer({ clickhouse, port: options.serve, metrics: reporter.registry });
    } catch (error) {
      const busy = (error as { code?: unknown }).code === 'EADDRINUSE';
      options.onLog(`live page not started: ${busy ? `port ${options.serve} is in use (choose another with --port/--serve)` : String(error)}`);
    }
  }
  return {
    onStatus: reporter.update,
    url: server?.url,
    async close() {
      await reporter.close();
      await server?.close();
      await Promise.all([writer.close(), clickhouse.close()]);
    },
  };
}
