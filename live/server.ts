import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';
import { z } from 'zod';
import type { Dashboard, Panel } from '../dashboards/definition.ts';
import { dashboards as allDashboards } from '../dashboards/registry.ts';
import { PanelQueryError, queryPanel } from './panel-query.ts';

/**
 * The built-in live page and its API, on fastify:
 *
 *   GET /                                          the page (live/public: index.html, app.js, style.css)
 *   GET /vendor/echarts.min.js                     ECharts, from node_modules
 *   GET /api/dashboards                            [{ uid, title, description }]
 *   GET /api/dashboards/:uid                       the definition without SQL (layout, units, refresh)
 *   GET /api/dashboards/:uid/panels/:id?from&to    that panel's SQL only, range in epoch ms:
 *                                                  200 { columns, rows } or 502 { error, unreachable }
 *   GET /metrics                                   Prometheus text (when given a registry)
 *   GET /healthz                                   { status: 'ok' }
 *
 * The page never sends SQL: it names a panel, and the server runs that panel's fixed query with
 * the time range as the only input.
 */

export interface LiveServerOptions {
  /** Queries go here; create it with `database` set to the pipelines' database. */
  clickhouse: ClickHouseClient;
  /** 0 picks a free port. @default 3100 */
  port?: number;
  /** @default '127.0.0.1' (the page shows your data: do not expose it without thinking) */
  host?: string;
  /** Served on /metrics, e.g. a MetricsReporter's `registry`. */
  metrics?: { contentType: string; metrics(): Promise<string> };
  /** @default every dashboard in dashboards/registry.ts */
  dashboards?: readonly Dashboard[];
}

export interface LiveServer {
  /** e.g. `http://127.0.0.1:3100/` */
  url: string;
  close(): Promise<void>;
}

const publicDir = join(dirname(fileURLToPath(import.meta.url)), 'public');
const echartsFile = join(dirname(createRequire(import.meta.url).resolve('echarts/package.json')), 'dist', 'echarts.min.js');

/** The live page range: epoch ms, `from` before `to`, at most 31 days. */
const PanelQuery = z
  .object({ from: z.coerce.number().int().nonnegative(), to: z.coerce.number().int().nonnegative() })
  .refine((r) => r.from <= r.to && r.to - r.from <= 31 * 86_400_000, 'from must be before to, at most 31 days apart');
const PanelParams = z.object({ uid: z.string(), id: z.coerce.number().int().positive() });

export async function startLiveServer(options: LiveServerOptions): Promise<LiveServer> {
  const dashboards = options.dashboards ?? allDashboards;
  const byUid = new Map(dashboards.map((d) => [d.uid, d]));
  const app = Fastify({ logger: false });

  await app.register(fastifyStatic, { root: publicDir, prefix: '/' });
  app.get('/vendor/echarts.min.js', (_request, reply) =>
    reply.type('application/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(createReadStream(echartsFile)),
  );

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/metrics', async (_request, reply) => {
    if (!options.metrics) return reply.code(404).send({ error: 'no metrics registry in this process' });
    return reply.type(options.metrics.contentType).send(await options.metrics.metrics());
  });

  app.get('/api/dashboards', async () => dashboards.map(({ uid, title, description }) => ({ uid, title, description })));

  app.get<{ Params: { uid: string } }>('/api/dashboards/:uid', async (request, reply) => {
    const dashboard = byUid.get(request.params.uid);
    if (!dashboard) return reply.code(404).send({ error: `no dashboard '${request.params.uid}'` });
    return publicDefinition(dashboard);
  });

  app.get('/api/dashboards/:uid/panels/:id', async (request, reply) => {
    const params = PanelParams.safeParse(request.params);
    const query = PanelQuery.safeParse(request.query);
    if (!params.success || !query.success) {
      return reply.code(400).send({
        error: `expected /api/dashboards/<uid>/panels/<id>?from=<epoch ms>&to=<epoch ms>: ${(params.error ?? query.error)?.issues.map((i) => i.message).join('; ')}`,
      });
    }
    const panel = byUid.get(params.data.uid)?.panels.find((p) => p.id === params.data.id);
    if (!panel) return reply.code(404).send({ error: `no panel ${params.data.id} in dashboard '${params.data.uid}'` });
    try {
      return await queryPanel(options.clickhouse, panel.sql, query.data);
    } catch (error) {
      if (error instanceof PanelQueryError) return reply.code(502).send({ error: error.message, unreachable: error.unreachable });
      throw error;
    }
  });

  const address = await app.listen({ port: options.port ?? 3100, host: options.host ?? '127.0.0.1' });
  return { url: `${address}/`, close: () => app.close() };
}

/** What the page needs to draw a dashboard; the SQL stays on the server. */
export type PublicPanel = Omit<Panel, 'sql'>;

function publicDefinition(dashboard: Dashboard): Omit<Dashboard, 'panels'> & { panels: PublicPanel[] } {
  return { ...dashboard, panels: dashboard.panels.map(({ sql: _sql, ...panel }) => panel) };
}
