/**
 * The live page's server: API shapes, one panel's query on the real ClickHouse (RXA_CLICKHOUSE_URL,
 * 18.16 here), errors when ClickHouse is down, /metrics, and the static page with ECharts.
 */
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsReporter } from '../core/metrics.ts';
import { deadLettersTable } from '../core/system-tables.ts';
import { dashboardsOf } from '../dashboards/pipeline-dashboards.ts';
import { clickstreamDashboard } from '../pipelines/clickstream.dashboard.ts';
import { ensureTables } from '../sinks/clickhouse/schema.ts';
import { ClickHouseWriter } from '../sinks/clickhouse/writer.ts';
import orders from '../test/fixtures/orders-pipeline.ts';
import { testId } from '../test/support/helpers.ts';
import { normalize, zonedToEpochMs } from './panel-query.ts';
import { type LiveServer, startLiveServer } from './server.ts';

const url = process.env.RXA_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const database = `rxa_live_api_${testId()}`;
const deadLettersPanel = clickstreamDashboard.panels.find((p) => p.title === 'Dead letters')!;
const recentSessionsPanel = clickstreamDashboard.panels.find((p) => p.title === 'Recent sessions')!;

describe('live server', () => {
  const admin = createClient({ url });
  let client: ClickHouseClient;
  let server: LiveServer;
  const reporter = new MetricsReporter({ pipeline: 'api-test' });
  const now = Date.now();

  beforeAll(async () => {
    await ensureTables(admin, database, [deadLettersTable]);
    const letter = (id: string) => ({
      pipeline: 'p',
      stage: 'validate',
      reason: 'bad',
      payload: '{}',
      payload_encoding: 'utf-8',
      source_subject: 's',
      source_seq: 1,
      id,
      received_at: now - 60_000,
    });
    await new ClickHouseWriter(admin, database).insert(deadLettersTable, [letter('a'), letter('b')]);
    client = createClient({ url, database, log: { level: ClickHouseLogLevel.OFF } });
    server = await startLiveServer({ clickhouse: client, port: 0, metrics: reporter.registry });
  });

  afterAll(async () => {
    await server?.close();
    await admin.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
    await client?.close();
    await admin.close();
  });

  const get = (path: string) => fetch(new URL(path, server.url));

  it('lists the dashboards', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await (await get('/api/dashboards')).json()).toEqual([
      { uid: 'rxa-clickstream', title: 'Clickstream', description: expect.any(String) },
      { uid: 'rxa-pipeline-health', title: 'Pipeline health', description: expect.any(String) },
    ]);
  });

  it('serves a definition without its SQL', async () => {
    const body = await (await get('/api/dashboards/rxa-clickstream')).text();
    const dashboard = JSON.parse(body) as { refreshMs: number; panels: Array<{ id: number; type: string; gridPos: unknown }> };
    expect(dashboard.refreshMs).toBe(5_000);
    expect(dashboard.panels).toHaveLength(15);
    expect(dashboard.panels[0]).toMatchObject({ id: 1, type: 'stat', gridPos: { x: 0, y: 0, w: 5, h: 4 }, format: 'timeSeries' });
    expect(body).not.toMatch(/FINAL|SELECT/);
    expect((await get('/api/dashboards/nope')).status).toBe(404);
  });

  it("runs one panel's query, numbers as numbers", async () => {
    const response = await get(`/api/dashboards/rxa-clickstream/panels/${deadLettersPanel.id}?from=${now - 3_600_000}&to=${now}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ columns: [{ name: 'dead_letters', type: 'UInt64' }], rows: [[2]] });
  });

  it('502 with the ClickHouse message when the query fails', async () => {
    // The sessions table does not exist in this database.
    const response = await get(`/api/dashboards/rxa-clickstream/panels/${recentSessionsPanel.id}?from=${now - 3_600_000}&to=${now}`);
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: string; unreachable: boolean };
    expect(body.error).toMatch(/clickstream_sessions/);
    expect(body.unreachable).toBe(false);
  });

  it('rejects a bad range and unknown panels', async () => {
    expect((await get(`/api/dashboards/rxa-clickstream/panels/1?from=${now}&to=${now - 1}`)).status).toBe(400);
    expect((await get('/api/dashboards/rxa-clickstream/panels/1?from=x&to=1')).status).toBe(400);
    expect((await get(`/api/dashboards/rxa-clickstream/panels/99?from=0&to=1`)).status).toBe(404);
  });

  it('serves Prometheus metrics and a health check', async () => {
    reporter.update({
      eventsIn: 7,
      eventsPerSecond: 3,
      lag: 2,
      ackPending: 5,
      rowsWritten: 9,
      deadLetters: 1,
      lateEvents: 0,
      lastSeq: 7,
      ackedSeq: 4,
      sinkRetries: 0,
      flushes: 2,
      lastFlushMs: 40,
      checkpoints: 1,
      lastCheckpointBytes: 1_000,
      lastCheckpointWrittenBytes: 100,
      lastCheckpointMs: 20,
      operators: { 'validate.in': 7 },
    });
    const response = await get('/metrics');
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toContain('rxa_events_in_total{pipeline="api-test"} 7');
    expect(text).toContain('rxa_stage_events_total{stage="validate",kind="in",pipeline="api-test"} 7');
    expect(await (await get('/healthz')).json()).toEqual({ status: 'ok' });
  });

  it('serves the page and ECharts', async () => {
    const page = await get('/');
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    const app = await get('/app.js');
    expect(app.headers.get('content-type')).toMatch(/javascript/);
    const echarts = await get('/vendor/echarts.min.js');
    expect(echarts.status).toBe(200);
    expect((await echarts.text()).length).toBeGreaterThan(500_000);
  });
});

describe("live server for a user's pipeline", () => {
  const admin = createClient({ url });
  const ordersDatabase = `rxa_live_orders_${testId()}`;
  let client: ClickHouseClient;
  let server: LiveServer;
  const now = Date.now();

  beforeAll(async () => {
    const { revenue } = orders.tables;
    await ensureTables(admin, ordersDatabase, [revenue]);
    const row = (product: string, amount: number) => ({ window_start: now - 600_000, product, revenue: amount, orders: 2, units: 3, version: 1 });
    await new ClickHouseWriter(admin, ordersDatabase).insert(revenue, [row('tea', 12.5), row('coffee', 30)]);
    client = createClient({ url, database: ordersDatabase, log: { level: ClickHouseLogLevel.OFF } });
    server = await startLiveServer({ clickhouse: client, port: 0, dashboards: dashboardsOf(orders) });
  });

  afterAll(async () => {
    await server?.close();
    await admin.command({ query: `DROP DATABASE IF EXISTS \`${ordersDatabase}\`` });
    await client?.close();
    await admin.close();
  });

  it("lists the pipeline's dashboards, then pipeline health", async () => {
    expect(await (await fetch(new URL('/api/dashboards', server.url))).json()).toEqual([
      { uid: 'orders', title: 'Orders' },
      { uid: 'rxa-pipeline-health', title: 'Pipeline health', description: expect.any(String) },
    ]);
  });

  it("runs its panels' queries on the pipeline's table", async () => {
    const range = `from=${now - 3_600_000}&to=${now}`;
    const revenue = await fetch(new URL(`/api/dashboards/orders/panels/1?${range}`, server.url));
    expect(revenue.status).toBe(200);
    expect(await revenue.json()).toEqual({
      columns: [
        { name: 'revenue', type: 'Float64' },
        { name: 'orders', type: 'UInt64' },
      ],
      rows: [[42.5, 4]],
    });
    const byProduct = await (await fetch(new URL(`/api/dashboards/orders/panels/2?${range}`, server.url))).json();
    expect(byProduct).toMatchObject({
      rows: [
        ['coffee', 30],
        ['tea', 12.5],
      ],
    });
    expect((await fetch(new URL(`/api/dashboards/rxa-clickstream?${range}`, server.url))).status).toBe(404);
  });
});

describe('live server with ClickHouse down', () => {
  it('answers 502 { error, unreachable: true }', async () => {
    const dead = createClient({ url: 'http://127.0.0.1:1', log: { level: ClickHouseLogLevel.OFF } });
    const server = await startLiveServer({ clickhouse: dead, port: 0 });
    try {
      const response = await fetch(new URL(`/api/dashboards/rxa-clickstream/panels/1?from=0&to=1000`, server.url));
      expect(response.status).toBe(502);
      expect(await response.json()).toEqual({ error: expect.stringContaining('ECONNREFUSED'), unreachable: true });
      expect((await fetch(new URL('/metrics', server.url))).status).toBe(404);
    } finally {
      await server.close();
      await dead.close();
    }
  });
});

describe('normalize', () => {
  it('turns quoted 64-bit integers into numbers and DateTime into epoch ms in the right zone', () => {
    const result = normalize(
      {
        columns: [
          { name: 'time', type: 'DateTime' },
          { name: 'berlin', type: "DateTime('Europe/Berlin')" },
          { name: 'n', type: 'UInt64' },
          { name: 'x', type: 'Nullable(Float64)' },
          { name: 's', type: 'String' },
        ],
        rows: [['2024-05-01 12:00:00', '2024-05-01 14:00:00', '18446744', null, '42']],
      },
      'Etc/UTC',
    );
    expect(result.rows).toEqual([[Date.UTC(2024, 4, 1, 12), Date.UTC(2024, 4, 1, 12), 18446744, null, '42']]);
  });

  it('converts wall-clock times across DST changes', () => {
    expect(zonedToEpochMs('2024-01-15 08:30:00', 'America/New_York')).toBe(Date.UTC(2024, 0, 15, 13, 30));
    expect(zonedToEpochMs('2024-07-15 08:30:00', 'America/New_York')).toBe(Date.UTC(2024, 6, 15, 12, 30));
    expect(zonedToEpochMs('2024-03-31 03:30:00', 'Europe/Berlin')).toBe(Date.UTC(2024, 2, 31, 1, 30));
  });
});
