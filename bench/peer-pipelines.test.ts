/**
 * The benchmark's materialized-view peer: its views are created on ClickHouse 18.16 (the local
 * server) and current ClickHouse (chdb) from the same SQL, and count what was inserted.
 */
import { Session } from 'chdb';
import { describe, expect, it } from 'vitest';
import { eventsTable } from '../pipelines/clickstream-tables.ts';
import { EncodedRows } from '../sinks/clickhouse/encoded-rows.ts';
import { ensureTables } from '../sinks/clickhouse/schema.ts';
import { createTableSql, type TableRow } from '../sinks/clickhouse/table.ts';
import { ClickHouseWriter } from '../sinks/clickhouse/writer.ts';
import { useScratchDatabase } from '../test/support/scratch-database.ts';
import { materializedViewsSql, materializedViewTotals } from './peer-pipelines.ts';

const minute = Date.UTC(2024, 4, 1, 12, 0);
const event = (id: string, type: string, user: string, price = 0, quantity = 0): TableRow<typeof eventsTable> => ({
  event_id: id,
  type,
  ts: minute + 1_000,
  user_id: user,
  url: 'https://shop.example.com/',
  path: '/',
  page_category: 'home',
  referrer: null,
  user_agent: 'test',
  country: 'DE',
  product_id: '',
  price,
  quantity,
  order_id: '',
});
const rows = [event('a', 'page_view', 'u1'), event('b', 'page_view', 'u2'), event('c', 'purchase', 'u1', 2.5, 2)];

describe('materialized-view peer', () => {
  const { database, client } = useScratchDatabase('rxa_mv');

  it('counts page views, unique users and revenue per minute on the ClickHouse server', async () => {
    await ensureTables(client, database, [eventsTable]);
    for (const query of materializedViewsSql(database)) await client.command({ query });
    const batch = EncodedRows.for(eventsTable);
    for (const row of rows) batch.push(row);
    await new ClickHouseWriter(client, database).write(batch);
    expect(await materializedViewTotals(client, database)).toEqual({ pageViews: 2, pageViewRows: 2 });
    const result = await client.query({
      query: `SELECT (SELECT uniqExactMerge(users) FROM ${database}.mv_unique_users_1m) AS users, (SELECT sum(revenue) FROM ${database}.mv_revenue_1m) AS revenue`,
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    expect(await result.json()).toEqual([{ users: 2, revenue: 5 }]);
  });

  it('creates the same views on current ClickHouse (chdb)', () => {
    const session = new Session();
    try {
      session.query('CREATE DATABASE bench');
      session.query(createTableSql(eventsTable, 'bench'));
      for (const query of materializedViewsSql('bench')) session.query(query);
      session.query(
        "INSERT INTO bench.clickstream_events (rxa_partition, event_id, type, ts, user_id, url, country, price, quantity) VALUES (0, 'a', 'page_view', '2024-05-01 12:00:01', 'u1', '/', 'DE', 0, 0), (0, 'c', 'purchase', '2024-05-01 12:00:02', 'u2', '/', 'DE', 2.5, 2)",
      );
      const totals = session.query(
        'SELECT (SELECT sum(views) FROM bench.mv_page_views_1m) AS views, (SELECT uniqExactMerge(users) FROM bench.mv_unique_users_1m) AS users, (SELECT sum(revenue) FROM bench.mv_revenue_1m) AS revenue',
        'JSONEachRow',
      );
      expect(JSON.parse(totals)).toEqual({ views: 1, users: 2, revenue: 5 });
    } finally {
      session.close();
    }
  });
});
