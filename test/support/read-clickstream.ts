import type { ClickHouseClient } from '@clickhouse/client';
import { expect } from 'vitest';
import { createClickHouseClient } from '../../core/clickhouse-client.ts';
import type { RuntimeConfig } from '../../core/config.ts';
import type { GeneratedMessage } from '../../generator/messages.ts';
import { type ExpectedClickstream, expectedClickstream } from './expected-clickstream.ts';

/**
 * Read what the clickstream pipeline wrote, in the shape of `ExpectedClickstream` (money rounded to
 * cents, as the pipeline writes it), so tests compare the two with one `toEqual`. Tables are read
 * through their read views (`<table>_current`: partitions merged), as dashboards read them; with
 * `partition`, only that partition's rows are read, from the table itself.
 */
export async function readClickstream(client: ClickHouseClient, pipeline: string, partition?: number): Promise<ExpectedClickstream> {
  const rows = async <T>(query: string): Promise<T[]> =>
    (await client.query({ query, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<T>();
  const ms = 'toUnixTimestamp(window_start) * 1000 AS w';
  // The same queries over both sources: a view holds one row per key, so their sums leave it as it is.
  const from = (table: string): string => (partition === undefined ? `${table}_current` : `(SELECT * FROM ${table} FINAL WHERE rxa_partition = ${partition})`);

  const [events] = await rows<{ n: number }>(`SELECT count() AS n FROM ${from('clickstream_events')}`);
  const [late] = await rows<{ n: number }>(`SELECT count() AS n FROM ${from('rxa_late_events')} WHERE pipeline = '${pipeline}' AND stage = 'unique-users'`);
  const [dead] = await rows<{ n: number }>(`SELECT count() AS n FROM ${from('rxa_dead_letters')} WHERE pipeline = '${pipeline}' AND stage = 'validate'`);
  const pageViews = await rows<{ w: number; url: string; views: number }>(
    `SELECT ${ms}, url, sum(views) AS views FROM ${from('clickstream_page_views_1m')} GROUP BY w, url`,
  );
  const users = await rows<{ w: number; users: number; events: number }>(
    `SELECT ${ms}, sum(users) AS users, sum(events) AS events FROM ${from('clickstream_unique_users_1m')} GROUP BY w`,
  );
  const active = await rows<{ w: number; users: number }>(`SELECT ${ms}, sum(users) AS users FROM ${from('clickstream_active_users_5m')} GROUP BY w`);
  const funnel = await rows<{ w: number; viewers: number; carters: number; buyers: number }>(
    `SELECT ${ms}, sum(viewers) AS viewers, sum(carters) AS carters, sum(buyers) AS buyers FROM ${from('clickstream_funnel_1m')} GROUP BY w`,
  );
  // Each partition rounds its revenue to cents; round the sum too, or float addition shows through.
  const revenue = await rows<{ w: number; country: string; revenue: number; orders: number; items: number }>(
    `SELECT ${ms}, country, round(sum(revenue), 2) AS revenue, sum(orders) AS orders, sum(items) AS items FROM ${from('clickstream_revenue_1m')} GROUP BY w, country`,
  );
  const sessions = await rows<{ user_id: string; start: number; end: number; page_views: number; events: number; converted: number; revenue: number }>(
    `SELECT user_id, toUnixTimestamp(session_start) AS start, toUnixTimestamp(session_end) AS end, page_views, events, converted, revenue FROM ${from('clickstream_sessions')}`,
  );
  return {
    events: events?.n ?? 0,
    lateEvents: late?.n ?? 0,
    malformed: dead?.n ?? 0,
    pageViews: new Map(pageViews.map((r) => [`${r.w}|${r.url}`, r.views])),
    uniqueUsers: new Map(users.map((r) => [r.w, r.users])),
    eventsPerMinute: new Map(users.map((r) => [r.w, r.events])),
    activeUsers: new Map(active.map((r) => [r.w, r.users])),
    funnel: new Map(funnel.map((r) => [r.w, { viewers: r.viewers, carters: r.carters, buyers: r.buyers }])),
    revenue: new Map(revenue.map((r) => [`${r.w}|${r.country}`, { revenue: r.revenue, orders: r.orders, items: r.items }])),
    sessions: new Map(
      sessions.map((s) => [`${s.user_id}|${s.start}`, { end: s.end, pageViews: s.page_views, events: s.events, converted: s.converted, revenue: s.revenue }]),
    ),
  };
}

/** Expected values as the pipeline stores them: money rounded to cents. */
export function asStored(expected: ExpectedClickstream): ExpectedClickstream {
  const cents = (v: number): number => Math.round(v * 100) / 100;
  return {
    ...expected,
    revenue: new Map([...expected.revenue].map(([k, v]) => [k, { ...v, revenue: cents(v.revenue) }])),
    sessions: new Map([...expected.sessions].map(([k, v]) => [k, { ...v, revenue: cents(v.revenue) }])),
  };
}

export interface ClickstreamDiff {
  /** Sum of every counted measure (events, views, users, orders, session events...) expected. */
  expected: number;
  actual: number;
  /** Expected contributions missing from ClickHouse. */
  lost: number;
  /** Contributions in ClickHouse beyond what was expected. */
  duplicated: number;
  /** Up to 20 human-readable differences. */
  differences: string[];
}

/** Compare every counted measure, key by key: what is missing is lost, what is extra is duplicated. */
export function diffClickstream(expectedRaw: ExpectedClickstream, actual: ExpectedClickstream): ClickstreamDiff {
  const expected = asStored(expectedRaw);
  const diff: ClickstreamDiff = { expected: 0, actual: 0, lost: 0, duplicated: 0, differences: [] };
  const measure = (what: string, e: number, a: number): void => {
    diff.expected += e;
    diff.actual += a;
    if (a < e) diff.lost += e - a;
    if (a > e) diff.duplicated += a - e;
    if (a !== e && diff.differences.length < 20) diff.differences.push(`${what}: expected ${e}, got ${a}`);
  };
  const maps = <V>(what: string, e: Map<string | number, V>, a: Map<string | number, V>, pick: (v: V) => Record<string, number>): void => {
    for (const key of new Set([...e.keys(), ...a.keys()])) {
      const ev = e.get(key);
      const av = a.get(key);
      const fields = pick((ev ?? av)!);
      for (const field of Object.keys(fields)) {
        measure(`${what}[${key}].${field}`, ev === undefined ? 0 : pick(ev)[field]!, av === undefined ? 0 : pick(av)[field]!);
      }
    }
  };
  measure('events', expected.events, actual.events);
  measure('late events', expected.lateEvents, actual.lateEvents);
  measure('dead letters', expected.malformed, actual.malformed);
  maps('page views', expected.pageViews, actual.pageViews, (v) => ({ views: v }));
  maps('unique users', expected.uniqueUsers, actual.uniqueUsers, (v) => ({ users: v }));
  maps('events per minute', expected.eventsPerMinute, actual.eventsPerMinute, (v) => ({ events: v }));
  maps('active users', expected.activeUsers, actual.activeUsers, (v) => ({ users: v }));
  maps('funnel', expected.funnel, actual.funnel, (v) => v);
  maps('revenue', expected.revenue, actual.revenue, (v) => ({ orders: v.orders, items: v.items, cents: Math.round(v.revenue * 100) }));
  maps('sessions', expected.sessions, actual.sessions, (v) => ({
    events: v.events,
    pageViews: v.pageViews,
    converted: v.converted,
    cents: Math.round(v.revenue * 100),
  }));
  return diff;
}

/** Every table `pipeline` wrote in `database` equals the independent computation over `input`. */
export async function expectClickstreamExact(
  settings: RuntimeConfig['clickhouse'],
  database: string,
  pipeline: string,
  input: readonly GeneratedMessage[],
): Promise<void> {
  const client = createClickHouseClient(settings, database);
  try {
    expect(await readClickstream(client, pipeline)).toEqual(asStored(expectedClickstream(input)));
  } finally {
    await client.close();
  }
}
