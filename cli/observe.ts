import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import { createClickHouseClient } from '../core/clickhouse-client.ts';
import type { RuntimeConfig } from '../core/config.ts';
import { MetricsReporter } from '../core/metrics.ts';
import type { PipelineDashboard } from '../core/pipeline.ts';
import type { PipelineStatus } from '../core/runner.ts';
import type { startLiveServer } from '../live/server.ts';

/**
 * What `rxa run` and `rxa demo` add around a pipeline: its health metrics written to ClickHouse
 * (rxa_pipeline_metrics, for the pipeline health dashboard) and, with a port, the live page and
 * Prometheus `/metrics` on http://127.0.0.1:<port>/. Nothing here can stop the pipeline: metrics
 * failures are logged, and a busy port only costs the page.
 */
export interface Observability {
  /** Feed the pipeline's status here (`onStatus`), with its partition when the pipeline is partitioned. */
  onStatus(status: PipelineStatus, partition?: number): void;
  /** The partition's run here ended and it may go to another process: its last figures, then off `/metrics` here. */
  released(partition: number): Promise<void>;
  /** The live page, when it is served. */
  url: string | undefined;
  /** Write the last metrics, stop the server, close the connection. */
  close(): Promise<void>;
}

export async function startObservability(
  config: RuntimeConfig,
  pipeline: string,
  options: {
    serve?: number;
    onLog: (message: string) => void;
    /** The pipeline's own dashboards, shown on the page before pipeline health. */
    dashboards?: readonly PipelineDashboard[] | undefined;
  },
): Promise<Observability> {
  // The reporter names its table in full and creates the database if needed, so its client has no
  // default database (a request to a database that does not exist yet fails). The page's has one.
  const writer = createClickHouseClient(config.clickhouse);
  const clickhouse = createClickHouseClient(config.clickhouse, config.clickhouse.database);
  // One reporter per partition (each partition's counters restart on their own), one registry.
  const registry = new Registry();
  const reporters = new Map<number | undefined, { reporter: MetricsReporter; started: Promise<void> }>();
  const reporter = (partition: number | undefined): MetricsReporter => {
    let entry = reporters.get(partition);
    if (!entry) {
      const r = new MetricsReporter({
        pipeline,
        registry,
        ...(partition !== undefined ? { partition } : {}),
        holder: `${hostname()} pid ${process.pid}`,
        clickhouse: { client: writer, database: config.clickhouse.database, cluster: config.clickhouse.cluster },
        onLog: options.onLog,
      });
      entry = { reporter: r, started: r.start() };
      reporters.set(partition, entry);
    }
    return entry.reporter;
  };
  /** Partitions gone elsewhere whose last figures are being written. */
  const releases = new Set<Promise<void>>();
  let server: Awaited<ReturnType<typeof startLiveServer>> | undefined;
  if (options.serve !== undefined) {
    try {
      // Loaded only to serve: the page's server and dashboards are ~30 MB of RSS a pipeline without a port does not need.
      const [live, { dashboardsOf }] = await Promise.all([import('../live/server.ts'), import('../dashboards/pipeline-dashboards.ts')]);
      const dashboards = dashboardsOf({ name: pipeline, dashboards: options.dashboards });
      server = await live.startLiveServer({ clickhouse, port: options.serve, metrics: registry, dashboards });
    } catch (error) {
      const busy = (error as { code?: unknown }).code === 'EADDRINUSE';
      options.onLog(`live page not started: ${busy ? `port ${options.serve} is in use (choose another with --port/--serve)` : String(error)}`);
    }
  }
  return {
    onStatus: (status, partition) => reporter(partition).update(status),
    released(partition) {
      const entry = reporters.get(partition);
      if (!entry) return Promise.resolve();
      reporters.delete(partition);
      const releasing = entry.started.then(() => entry.reporter.release());
      releases.add(releasing);
      return releasing.finally(() => releases.delete(releasing));
    },
    url: server?.url,
    async close() {
      await Promise.all(releases);
      await Promise.all(
        [...reporters.values()].map(async ({ reporter: r, started }) => {
          await started;
          await r.close();
        }),
      );
      await server?.close();
      await Promise.all([writer.close(), clickhouse.close()]);
    },
  };
}
