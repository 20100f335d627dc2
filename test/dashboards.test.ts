/**
 * The Grafana dashboards: valid JSON model, and every panel query runs (macros expanded as the
 * ClickHouse plugin expands them) on the ClickHouse server the project supports as its oldest
 * (18.16, at RXA_CLICKHOUSE_URL) and on current ClickHouse (embedded, via chdb), against tables
 * created from the same definitions the pipeline writes to, holding a handful of rows.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { Session } from 'chdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLettersTable, lateEventsTable, pipelineMetricsTable, systemTables } from '../core/system-tables.ts';
import { grafanaDashboard } from '../dashboards/grafana-model.ts';
import { expandMacros } from '../dashboards/macros.ts';
import { dashboards } from '../dashboards/registry.ts';
import { loadDashboard, parseJsonCompact, type QueryExecutor, runDashboardQueries, runPanelQueries } from '../dashboards/run-panel-queries.ts';
import {
  activeUsersTable,
  clickstreamTables,
  eventsTable,
  funnelTable,
  pagesTable,
  pageViewsTable,
  revenueTable,
  sessionsTable,
  uniqueUsersTable,
} from '../pipelines/clickstream-tables.ts';
import { EncodedRows } from '../sinks/clickhouse/encoded-rows.ts';
import { createReadViewSql } from '../sinks/clickhouse/read-view.ts';
import { ensureTables } from '../sinks/clickhouse/schema.ts';
import { type AnyTable, type Columns, createTableSql, type RowOf, type Table } from '../sinks/clickhouse/table.ts';
import { ClickHouseWriter } from '../sinks/clickhouse/writer.ts';

const dashboardsDir = fileURLToPath(new URL('../dashboards/', import.meta.url));
const dashboardFiles = readdirSync(dashboardsDir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const dashboardPath = (file: string): string => `${dashboardsDir}${file}`;

const MINUTE = 60_000;
/** The fixture's "now": the dashboards look at the 30 minutes before it. */
const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);
const RANGE = { from: NOW - 30 * MINUTE, to: NOW };
const at = (minutesAgo: number, seconds = 0): number => NOW - minutesAgo * MINUTE + seconds * 1000;

const allTables: AnyTable[] = [...Object.values(clickstreamTables), pagesTable, ...systemTables];

/** Rows typed by their table's definition, encoded as the pipeline's writer encodes them (of partition `partition`): one insert. */
function batch<C extends Columns>(table: Table<C>, rows: RowOf<C>[], partition = 0): EncodedRows {
  const encoded = EncodedRows.for(table, partition);
  for (const row of rows) encoded.push(row);
  return encoded;
}

type EventRow = RowOf<typeof eventsTable.columns>;
const categories: Record<string, string> = { '/': 'home', '/product/p-1': 'product', '/checkout': 'checkout' };

function event(
  event_id: string,
  type: string,
  ts: number,
  user_id: string,
  path: string,
  country: string,
  commerce: { product_id: string; price: number; quantity: number; order_id?: string } | null = null,
): EventRow {
  return {
    event_id,
    type,
    ts,
    user_id,
    url: `https://shop.example.com${path}`,
    path,
    page_category: categories[path] ?? 'unknown',
    referrer: null,
    user_agent: 'Mozilla/5.0 (test)',
    country,
    product_id: commerce?.product_id ?? '',
    price: commerce?.price ?? 0,
    quantity: commerce?.quantity ?? 0,
    order_id: commerce?.order_id ?? '',
  };
}

/**
 * A few minutes of clickstream output. Windowed tables get an early, partial row first and the
 * complete one in a later insert (a separate part): FINAL must keep only the latter. A second
 * partition writes rows with the same window keys: panels must sum them, not list or replace them.
 */
const fixture: EncodedRows[] = [
  batch(eventsTable, [
    event('e1', 'page_view', at(3, 5), 'u1', '/', 'DE'),
    event('e2', 'page_view', at(3, 20), 'u2', '/product/p-1', 'FR'),
    event('e3', 'add_to_cart', at(2, 10), 'u2', '/product/p-1', 'FR', { product_id: 'p-1', price: 19.99, quantity: 2 }),
    event('e4', 'purchase', at(2, 40), 'u2', '/checkout', 'FR', { product_id: 'p-1', price: 19.99, quantity: 2, order_id: 'o1' }),
    event('e5', 'click', at(1), 'u1', '/', 'DE'),
  ]),
  batch(pagesTable, [
    { path: '/', category: 'home' },
    { path: '/checkout', category: 'checkout' },
  ]),
  batch(pageViewsTable, [
    { window_start: at(3), url: 'https://shop.example.com/', page_category: 'home', views: 1, version: 1 },
    { window_start: at(3), url: 'https://shop.example.com/product/p-1', page_category: 'product', views: 1, version: 1 },
  ]),
  batch(pageViewsTable, [{ window_start: at(3), url: 'https://shop.example.com/', page_category: 'home', views: 4, version: 4 }]),
  batch(uniqueUsersTable, [
    { window_start: at(3), users: 1, events: 1, version: 1 },
    { window_start: at(2), users: 1, events: 1, version: 1 },
  ]),
  batch(uniqueUsersTable, [
    { window_start: at(3), users: 2, events: 2, version: 2 },
    { window_start: at(2), users: 1, events: 2, version: 2 },
  ]),
  batch(activeUsersTable, [
    { window_start: at(7), window_end: at(2), users: 2, top_pages: ['/', '/product/p-1'], top_page_views: [1, 1], version: 3 },
    { window_start: at(6), window_end: at(1), users: 2, top_pages: ['/product/p-1', '/'], top_page_views: [2, 1], version: 4 },
  ]),
  batch(sessionsTable, [
    { user_id: 'u1', session_start: at(3, 5), session_end: at(1), duration_s: 125, page_views: 1, events: 2, converted: 0, revenue: 0, version: 2 },
    { user_id: 'u2', session_start: at(3, 20), session_end: at(2, 40), duration_s: 80, page_views: 1, events: 3, converted: 1, revenue: 39.98, version: 3 },
  ]),
  batch(funnelTable, [
    { window_start: at(3), viewers: 2, carters: 0, buyers: 0, version: 2 },
    { window_start: at(2), viewers: 0, carters: 1, buyers: 1, version: 2 },
  ]),
  batch(revenueTable, [{ window_start: at(2), country: 'FR', revenue: 19.99, orders: 1, items: 1, version: 1 }]),
  // Partition 1: users u3 (and their page views) on the same windows and keys as partition 0's.
  batch(uniqueUsersTable, [{ window_start: at(3), users: 1, events: 3, version: 3 }], 1),
  batch(pageViewsTable, [{ window_start: at(3), url: 'https://shop.example.com/product/p-1', page_category: 'product', views: 5, version: 5 }], 1),
  batch(activeUsersTable, [{ window_start: at(6), window_end: at(1), users: 1, top_pages: ['/product/p-1'], top_page_views: [3], version: 3 }], 1),
  batch(revenueTable, [{ window_start: at(2), country: 'FR', revenue: 10, orders: 1, items: 1, version: 1 }], 1),
  batch(revenueTable, [
    { window_start: at(2), country: 'FR', revenue: 39.98, orders: 1, items: 2, version: 2 },
    { window_start: at(4), country: 'DE', revenue: 5.5, orders: 1, items: 1, version: 1 },
  ]),
  batch(deadLettersTable, [
    {
      pipeline: 'clickstream',
      stage: 'validate',
      reason: 'invalid: ts: expected number',
      payload: '{"ts":"x"}',
      payload_encoding: 'utf8',
      source_subject: 'clickstream.events.0',
      source_seq: 17,
      id: 'dl1',
      received_at: at(5),
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      correlation_id: 'order-17',
    },
    {
      pipeline: 'clickstream',
      stage: 'validate',
      reason: 'not JSON',
      payload: 'AAEC',
      payload_encoding: 'base64',
      source_subject: 'clickstream.events.1',
      source_seq: 18,
      id: 'dl2',
      received_at: at(4),
      trace_id: '',
      correlation_id: '',
    },
  ]),
  batch(lateEventsTable, [
    {
      pipeline: 'clickstream',
      stage: 'unique-users',
      event_time: at(9),
      watermark: at(2),
      lateness_ms: 420_000,
      payload: '{"event_id":"late"}',
      source_seq: 21,
      trace_id: '',
      correlation_id: '',
    },
  ]),
  // Pipeline health (core/metrics.ts): two reports 5 s apart; counters are increases, gauges values.
  ...[at(3), at(3, 5)].map((ts, i) =>
    batch(pipelineMetricsTable, [
      metric(ts, 'events_in', 100),
      metric(ts, 'events_per_second', 20),
      metric(ts, 'consumer_lag', 40 - i * 10),
      metric(ts, 'ack_pending', 90),
      metric(ts, 'dead_letters', i),
      metric(ts, 'late_events', 1),
      metric(ts, 'sink_retries', 0),
      metric(ts, 'sink_flush_ms', 12 + i),
      metric(ts, 'checkpoints', 1),
      metric(ts, 'checkpoint_bytes', 4_200_000 + i * 100_000),
      metric(ts, 'checkpoint_written_bytes', 900_000 + i * 10_000),
      metric(ts, 'checkpoint_save_ms', 310 + i),
      metric(ts, 'stage_events', 100, 'validate', 'in'),
      metric(ts, 'stage_events', 98, 'validate', 'valid'),
      metric(ts, 'stage_events', 2, 'validate', 'invalid'),
      metric(ts, 'stage_events', 98, 'dedupe', 'in'),
      metric(ts, 'stage_events', 97, 'dedupe', 'out'),
      metric(ts, 'stage_state', 3, 'page-category', 'pending'),
      metric(ts, 'watermark_delay_s', 5.2, 'page-views'),
      metric(ts, 'unknown_fields', 3, 'validate', 'session_hint'),
    ]),
  ),
  // Written again (a retried insert): FINAL keeps one row per key.
  batch(pipelineMetricsTable, [metric(at(3), 'events_in', 100)]),
  // Partition 1 of the same pipeline reports at the same time: its rows are its own.
  batch(pipelineMetricsTable, [metric(at(3, 5), 'events_in', 50), metric(at(3, 5), 'consumer_lag', 5), metric(at(3, 5), 'events_per_second', 10)], 1),
];

function metric(ts: number, name: string, value: number, stage = '', kind = ''): RowOf<typeof pipelineMetricsTable.columns> {
  return { ts, pipeline: 'clickstream', metric: name, stage, kind, value };
}

/** Panels whose row count the fixture pins down (FINAL must collapse the early rows). */
const expectedRows: Record<string, number> = {
  'Unique users per minute': 2,
  'Revenue per minute by country': 2,
  'Top pages': 2,
  Funnel: 3,
  'Top pages now (last 5 min)': 2,
  'Active users (5 min)': 2,
  'Stage throughput': 2,
  'Operator counters': 5,
  Pipelines: 1,
};

describe('dashboards/*.json', () => {
  it('exist', () => {
    expect(dashboardFiles).toContain('clickstream.json');
  });

  it.each(dashboardFiles)('%s matches the Grafana model and its SQL expands', async (file) => {
    const dashboard = await loadDashboard(dashboardPath(file));
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) expect(() => expandMacros(target.rawSql, RANGE), panel.title).not.toThrow();
      if (panel.type === 'timeseries')
        expect(
          panel.targets.map((t) => t.format),
          panel.title,
        ).toEqual(panel.targets.map(() => 0));
    }
  });

  it('the clickstream dashboard has the panels it promises', async () => {
    const dashboard = await loadDashboard(dashboardPath('clickstream.json'));
    expect({ uid: dashboard.uid, title: dashboard.title, schemaVersion: dashboard.schemaVersion, refresh: dashboard.refresh, time: dashboard.time }).toEqual({
      uid: 'rxa-clickstream',
      title: 'Clickstream',
      schemaVersion: 39,
      refresh: '5s',
      time: { from: 'now-30m', to: 'now' },
    });
    expect(new Set(dashboard.panels.map((p) => p.type))).toEqual(new Set(['timeseries', 'stat', 'table', 'barchart']));
    const layout = dashboard.panels.map(({ id, type, title, gridPos: { x, y, w, h } }) => `${id} ${type} @${x},${y} ${w}x${h} ${title}`);
    expect(layout).toMatchInlineSnapshot(`
      [
        "1 stat @0,0 5x4 Active users (5 min)",
        "2 stat @5,0 5x4 Avg session duration",
        "3 stat @10,0 5x4 Sessions / conversion",
        "4 stat @15,0 4x4 Dead letters",
        "5 stat @19,0 5x4 Late events",
        "6 timeseries @0,4 12x8 Events per minute",
        "7 timeseries @12,4 12x8 Unique users per minute",
        "8 timeseries @0,12 12x8 Revenue per minute by country",
        "9 barchart @12,12 6x8 Funnel",
        "10 barchart @18,12 6x8 Revenue by country",
        "11 table @0,20 12x9 Top pages",
        "12 table @12,20 12x9 Top pages now (last 5 min)",
        "13 table @0,29 14x9 Recent sessions",
        "14 table @14,29 10x9 Dead letters by stage and reason",
        "15 table @0,38 24x6 Late events by stage",
      ]
    `);
    expect(dashboard.panels.map((p) => p.title)).toEqual(
      expect.arrayContaining([
        'Events per minute',
        'Unique users per minute',
        'Active users (5 min)',
        'Revenue per minute by country',
        'Funnel',
        'Top pages',
        'Avg session duration',
        'Recent sessions',
        'Dead letters',
        'Late events',
        'Dead letters by stage and reason',
      ]),
    );
  });
});

describe('the Grafana model', () => {
  const target = {
    refId: 'A',
    datasource: { type: 'grafana-clickhouse-datasource', uid: 'clickhouse' },
    editorType: 'sql',
    format: 1,
    queryType: 'table',
    rawSql: 'SELECT 1',
  };
  const panel = (id: number, x: number, y: number, w: number) => ({
    id,
    type: 'table',
    title: `p${id}`,
    gridPos: { x, y, w, h: 4 },
    datasource: target.datasource,
    targets: [target],
  });
  const dashboard = (panels: unknown[]) => ({ uid: 'd', title: 'D', schemaVersion: 39, refresh: '5s', time: { from: 'now-1h', to: 'now' }, panels });

  it('accepts a tidy layout', () => {
    expect(grafanaDashboard.safeParse(dashboard([panel(1, 0, 0, 12), panel(2, 12, 0, 12)])).success).toBe(true);
  });

  it.each([
    ['duplicate ids', [panel(1, 0, 0, 12), panel(1, 12, 0, 12)], 'duplicate panel id 1'],
    ['overlapping panels', [panel(1, 0, 0, 12), panel(2, 6, 2, 12)], 'overlaps'],
    ['a panel past column 24', [panel(1, 16, 0, 12)], 'x + w must be at most 24'],
    ['an unknown panel type', [{ ...panel(1, 0, 0, 12), type: 'graph' }], 'type'],
    ['another data source', [{ ...panel(1, 0, 0, 12), datasource: { type: 'prometheus', uid: 'p' } }], 'datasource'],
    ['empty SQL', [{ ...panel(1, 0, 0, 12), targets: [{ ...target, rawSql: '  ' }] }], 'rawSql must not be empty'],
    [
      'a time series format with a table query type',
      [{ ...panel(1, 0, 0, 12), targets: [{ ...target, format: 0 }] }],
      "format 0 goes with queryType 'timeSeries'",
    ],
  ])('rejects %s', (_what, panels, message) => {
    const result = grafanaDashboard.safeParse(dashboard(panels));
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(message);
  });
});

describe('expandMacros', () => {
  const range = { from: 1_714_563_000_999, to: 1_714_564_800_500 };

  it('expands $__timeFilter, $__fromTime and $__toTime like the plugin (seconds, floored)', () => {
    expect(
      expandMacros('SELECT 1 FROM t WHERE $__timeFilter(ts) AND $__timeFilter( window_start ) AND x BETWEEN $__fromTime AND $__toTime', range),
    ).toMatchInlineSnapshot(
      `"SELECT 1 FROM t WHERE ts >= toDateTime(1714563000) AND ts <= toDateTime(1714564800) AND window_start >= toDateTime(1714563000) AND window_start <= toDateTime(1714564800) AND x BETWEEN toDateTime(1714563000) AND toDateTime(1714564800)"`,
    );
  });

  it('leaves SQL without macros alone, array literals included', () => {
    expect(expandMacros("SELECT [[1, 2]] AS a, '$' AS dollar, 'a$' AS b", range)).toBe("SELECT [[1, 2]] AS a, '$' AS dollar, 'a$' AS b");
  });

  it.each([
    ['SELECT $__timeInterval(ts) AS time FROM t', 'unsupported macro $__timeInterval'],
    ['SELECT 1 FROM t WHERE $__timeFilter_ms(ts)', 'unsupported macro $__timeFilter_ms'],
    ['SELECT 1 FROM t WHERE ts > $__fromTime_ms', 'unsupported macro $__fromTime_ms'],
    ['SELECT 1 FROM t WHERE $__timeFilter(toDateTime(ts))', 'unsupported macro $__timeFilter'],
    ['SELECT 1 FROM t WHERE $__timeFilter()', '$__timeFilter expects one column name'],
    ["SELECT 1 FROM t WHERE country = '$country'", 'unresolved template variable $country'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable, not a template literal
    ['SELECT 1 FROM t WHERE country IN (${country:singlequote})', 'unresolved template variable ${country:singlequote}'],
    ["SELECT 1 FROM t WHERE country = '[[country]]'", 'unresolved template variable [[country]]'],
  ])('refuses %s', (sql, message) => {
    expect(() => expandMacros(sql, range)).toThrow(message);
  });

  it('refuses an inverted range', () => {
    expect(() => expandMacros('SELECT 1', { from: 2, to: 1 })).toThrow('invalid time range');
  });
});

describe('runDashboardQueries', () => {
  const target = {
    refId: 'A',
    datasource: { type: 'grafana-clickhouse-datasource', uid: 'clickhouse' },
    editorType: 'sql',
    format: 0,
    queryType: 'timeSeries',
    rawSql: 'SELECT t AS time, v FROM x WHERE $__timeFilter(t) ORDER BY time',
  } as const;
  const dashboard = grafanaDashboard.parse({
    uid: 'd',
    title: 'D',
    schemaVersion: 39,
    refresh: '5s',
    time: { from: 'now-1h', to: 'now' },
    panels: [{ id: 1, type: 'timeseries', title: 'Series', gridPos: { x: 0, y: 0, w: 24, h: 8 }, datasource: target.datasource, targets: [target] }],
  });
  const series = (columns: Array<[string, string]>, rows: unknown[][]) => async () => ({ columns: columns.map(([name, type]) => ({ name, type })), rows });

  it('runs the expanded SQL and counts rows', async () => {
    const seen: string[] = [];
    const results = await runDashboardQueries(dashboard, { from: 60_000, to: 120_000 }, async (sql) => {
      seen.push(sql);
      return series(
        [
          ['time', "DateTime('Etc/UTC')"],
          ['v', 'UInt64'],
        ],
        [
          ['2024-05-01 11:57:00', '1'],
          ['2024-05-01 11:58:00', '2'],
        ],
      )();
    });
    expect(seen).toEqual(['SELECT t AS time, v FROM x WHERE t >= toDateTime(60) AND t <= toDateTime(120) ORDER BY time']);
    expect(results).toEqual([{ panel: 'Series', refId: 'A', rows: 2, columns: ['time', 'v'] }]);
  });

  it.each([
    [
      'no time column first',
      series(
        [
          ['v', 'UInt64'],
          ['time', 'DateTime'],
        ],
        [],
      ),
      'must return a DateTime column named "time" first',
    ],
    ['a time column that is not a DateTime', series([['time', 'String']], []), 'must return a DateTime column named "time" first'],
    ['rows out of order', series([['time', 'DateTime']], [['2024-05-01 11:58:00'], ['2024-05-01 11:57:00']]), 'rows must be ordered by time'],
    [
      'a failing query',
      async () => Promise.reject(new Error('Unknown function toStartOfInterval')),
      'panel "Series" (A) failed: Unknown function toStartOfInterval',
    ],
  ])('rejects a time series query with %s', async (_what, execute, message) => {
    await expect(runDashboardQueries(dashboard, RANGE, execute)).rejects.toThrow(message);
  });
});

function checkResults(results: Array<{ panel: string; rows: number }>): void {
  expect(results.length).toBeGreaterThan(0);
  for (const { panel, rows } of results) {
    expect(rows, `rows returned by panel "${panel}"`).toBeGreaterThanOrEqual(1);
    const expected = expectedRows[panel];
    if (expected !== undefined) expect(rows, `rows returned by panel "${panel}"`).toBe(expected);
  }
}

/** Panels that must add up the two partitions of the fixture: their rows, numbers as numbers. */
async function checkPartitionSums(execute: QueryExecutor): Promise<void> {
  const panel = async (title: string): Promise<unknown[][]> => {
    const sql = dashboards.flatMap((d) => d.panels).find((p) => p.title === title)?.sql;
    if (!sql) throw new Error(`no panel '${title}'`);
    const { rows } = await execute(expandMacros(sql, RANGE));
    return rows.map((row) => row.map((v) => (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v)));
  };
  expect((await panel('Unique users per minute')).map((r) => r[1])).toEqual([3, 1]);
  expect((await panel('Active users (5 min)')).map((r) => r[1])).toEqual([2, 3]);
  expect((await panel('Revenue per minute by country')).map((r) => [r[1], r[2]])).toEqual([
    ['DE', 5.5],
    ['FR', 49.98],
  ]);
  expect(await panel('Top pages now (last 5 min)')).toEqual([
    ['/product/p-1', 6],
    ['/', 4],
  ]);
  const [pipelines] = await panel('Pipelines');
  expect(pipelines?.slice(0, 2)).toEqual(['clickstream', 2]);
  expect(pipelines?.[3]).toBe(250); // events_in: 100 + 100 (partition 0) + 50 (partition 1)
  expect(pipelines?.[5]).toBe(35); // consumer_lag: latest of each partition, 30 + 5
}

describe('panel queries on the ClickHouse server (18.16 here)', () => {
  const url = process.env.RXA_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
  const database = `rxa_dash_test_${randomBytes(6).toString('hex')}`;
  const admin = createClient({ url });
  let client: ClickHouseClient;

  beforeAll(async () => {
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS \`${database}\`` });
    await ensureTables(admin, database, allTables);
    client = createClient({ url, database });
    const writer = new ClickHouseWriter(client, database);
    for (const rows of fixture) expect(await writer.write(rows)).toMatchObject({ written: rows.length });
  });

  afterAll(async () => {
    await admin.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
    await client?.close();
    await admin.close();
  });

  it.each(dashboardFiles)('%s: every panel query succeeds and returns rows', async (file) => {
    const version = parseJsonCompact(await (await client.query({ query: 'SELECT version() AS v', format: 'JSONCompact' })).json()).rows[0]?.[0];
    console.info(`dashboard queries on ClickHouse ${String(version)}`);
    checkResults(await runPanelQueries(client, dashboardPath(file), RANGE));
  });

  it('panels sum the partitions', async () => {
    await checkPartitionSums(async (sql) => parseJsonCompact(await (await client.query({ query: sql, format: 'JSONCompact' })).json()));
  });
});

describe('panel queries on current ClickHouse (chdb)', () => {
  const database = 'rxa_dash_test';
  let session: Session;

  beforeAll(async () => {
    session = new Session();
    session.query(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
    for (const table of allTables) session.query(createTableSql(table, database));
    for (const table of allTables) session.query(createReadViewSql(table, database));
    for (const rows of fixture) {
      await session.insert({ table: `${database}.${rows.table.name}`, values: Buffer.concat(rows.slices()), format: 'TabSeparated' });
    }
    session.query(`USE \`${database}\``);
  });

  afterAll(() => {
    session?.close();
  });

  it.each(dashboardFiles)('%s: every panel query succeeds and returns rows', async (file) => {
    const version = parseJsonCompact(session.query('SELECT version() AS v', 'JSONCompact')).rows[0]?.[0];
    console.info(`dashboard queries on chdb ClickHouse ${String(version)}`);
    const dashboard = await loadDashboard(dashboardPath(file));
    checkResults(
      await runDashboardQueries(dashboard, RANGE, async (sql) => parseJsonCompact((await session.queryAsync(sql, { format: 'JSONCompact' })).text())),
    );
  });

  it('panels sum the partitions', async () => {
    await checkPartitionSums(async (sql) => parseJsonCompact((await session.queryAsync(sql, { format: 'JSONCompact' })).text()));
  });
});
