import { defineDashboard, sql } from '../index.ts';
import { activeUsersTable, eventsTable, funnelTable, pageViewsTable, revenueTable, sessionsTable, uniqueUsersTable } from './clickstream-tables.ts';

/**
 * The clickstream dashboard: what pipelines/clickstream.ts writes, read through each table's read
 * view (`table.current`: the latest version of each row, partitions merged), so a query reads like
 * one over a plain table. Nothing here needs more than ClickHouse 18.16 (no toStartOfInterval, no
 * DateTime64, GROUP BY aliases, not positions).
 * The pipeline declares it (`dashboards` in pipelines/clickstream.ts); generated:
 * dashboards/clickstream.json (`npx tsx scripts/build-dashboards.ts`).
 */
export const clickstreamDashboard = defineDashboard({
  uid: 'rxa-clickstream',
  title: 'Clickstream',
  description: 'Real-time clickstream analytics: NATS JetStream -> RxJS windows -> ClickHouse. Every query runs on ClickHouse 18.16 and current releases.',
  tags: ['rxa', 'clickstream', 'clickhouse'],
  refresh: '5s',
  timeRange: 'now-30m',
  panels: [
    {
      title: 'Active users (5 min)',
      type: 'stat',
      description:
        'Distinct users in the latest 5-minute hopping window (the big number); the sparkline shows every window in the range. Partitions hold disjoint users, so their counts add up exactly.',
      width: 5,
      height: 4,
      unit: 'short',
      decimals: 0,
      color: 'blue',
      sparkline: true,
      sql: sql`
        SELECT window_end AS time, users AS active_users
        FROM ${activeUsersTable.current}
        WHERE $__timeFilter(window_end)
        ORDER BY time
      `,
    },
    {
      title: 'Avg session duration',
      type: 'stat',
      description: 'Average duration of the sessions that ended in the range (session window, 5 min inactivity gap; a session is written once it has closed).',
      width: 5,
      height: 4,
      unit: 's',
      decimals: 0,
      color: 'purple',
      sql: sql`
        SELECT avg(duration_s) AS avg_session_duration
        FROM ${sessionsTable.current}
        WHERE $__timeFilter(session_end)
      `,
    },
    {
      title: 'Sessions / conversion',
      type: 'stat',
      description: 'Sessions that ended in the range, and the share of them with at least one purchase.',
      width: 5,
      height: 4,
      unit: 'short',
      decimals: 0,
      color: 'green',
      columns: { conversion_pct: { unit: 'percent', decimals: 1 } },
      sql: sql`
        SELECT count() AS sessions_ended, avg(converted) * 100 AS conversion_pct
        FROM ${sessionsTable.current}
        WHERE $__timeFilter(session_end)
      `,
    },
    {
      title: 'Dead letters',
      type: 'stat',
      description: 'Messages rejected by any pipeline in the range (invalid, undecodable, unwritable). Details in the table below and in the RXA_DLQ stream.',
      width: 4,
      height: 4,
      unit: 'short',
      decimals: 0,
      color: 'green',
      thresholds: [{ value: 1, color: 'red' }],
      sql: sql`
        SELECT count() AS dead_letters
        FROM rxa_dead_letters_current
        WHERE $__timeFilter(received_at)
      `,
    },
    {
      title: 'Late events',
      type: 'stat',
      description: 'Events that arrived after their window had closed and the allowed lateness had passed (counted by the watermark at which they arrived).',
      width: 5,
      height: 4,
      unit: 'short',
      decimals: 0,
      color: 'green',
      thresholds: [{ value: 1, color: 'orange' }],
      sql: sql`
        SELECT count() AS late_events
        FROM rxa_late_events_current
        WHERE $__timeFilter(watermark)
      `,
    },
    {
      title: 'Events per minute',
      type: 'timeseries',
      description: 'Validated, de-duplicated events by type, per minute of event time.',
      width: 12,
      height: 8,
      unit: 'short',
      sql: sql`
        SELECT toStartOfMinute(ts) AS time, type, count() AS events_per_min
        FROM ${eventsTable.current}
        WHERE $__timeFilter(ts)
        GROUP BY time, type
        ORDER BY time, type
      `,
    },
    {
      title: 'Unique users per minute',
      type: 'timeseries',
      description: 'Exact distinct users per 1-minute tumbling window of event time (summed over partitions, which hold disjoint users).',
      width: 12,
      height: 8,
      unit: 'short',
      decimals: 0,
      sql: sql`
        SELECT window_start AS time, users AS unique_users
        FROM ${uniqueUsersTable.current}
        WHERE $__timeFilter(window_start)
        ORDER BY time
      `,
    },
    {
      title: 'Revenue per minute by country',
      type: 'timeseries',
      description: 'Purchase revenue (price x quantity) per 1-minute window, one series per country.',
      width: 12,
      height: 8,
      unit: 'currencyUSD',
      style: 'bars',
      stacked: true,
      sql: sql`
        SELECT window_start AS time, country, revenue
        FROM ${revenueTable.current}
        WHERE $__timeFilter(window_start)
        ORDER BY time, country
      `,
    },
    {
      title: 'Funnel',
      type: 'barchart',
      description:
        'View -> add to cart -> purchase: distinct users reaching each step per minute, summed over the range (a user active in several minutes counts once per minute).',
      width: 6,
      height: 8,
      unit: 'short',
      decimals: 0,
      xField: 'step',
      showValues: true,
      sql: sql`
        SELECT step, users
        FROM
        (
            SELECT sum(viewers) AS viewed, sum(carters) AS carted, sum(buyers) AS bought
            FROM ${funnelTable.current}
            WHERE $__timeFilter(window_start)
        )
        ARRAY JOIN ['1 viewed', '2 added to cart', '3 purchased'] AS step, [viewed, carted, bought] AS users
      `,
    },
    {
      title: 'Revenue by country',
      type: 'barchart',
      description: 'Total purchase revenue over the range, top 10 countries.',
      width: 6,
      height: 8,
      unit: 'currencyUSD',
      xField: 'country',
      sql: sql`
        SELECT country, round(sum(revenue), 2) AS total_revenue
        FROM ${revenueTable.current}
        WHERE $__timeFilter(window_start)
        GROUP BY country
        ORDER BY total_revenue DESC
        LIMIT 10
      `,
    },
    {
      title: 'Top pages',
      type: 'table',
      description: 'Most viewed URLs over the range (from the 1-minute page view windows).',
      width: 12,
      height: 9,
      columns: { page_views: { gauge: true } },
      sql: sql`
        SELECT url, any(page_category) AS category, sum(views) AS page_views
        FROM ${pageViewsTable.current}
        WHERE $__timeFilter(window_start)
        GROUP BY url
        ORDER BY page_views DESC
        LIMIT 20
      `,
    },
    {
      title: 'Top pages now (last 5 min)',
      type: 'table',
      description:
        'Top 5 paths by page views over the latest 5-minute hopping window, counted from its five 1-minute page view windows (partitions merged). ' +
        "(The hopping window's own top 5 is per partition: merging those lists would undercount a page outside some partition's top 5.)",
      width: 12,
      height: 9,
      sql: sql`
        WITH (SELECT max(window_start) FROM ${activeUsersTable.current} WHERE $__timeFilter(window_end)) AS latest
        SELECT path(url) AS page, sum(views) AS views
        FROM ${pageViewsTable.current}
        WHERE window_start >= latest AND window_start < latest + 300
        GROUP BY page
        ORDER BY views DESC, page
        LIMIT 5
      `,
    },
    {
      title: 'Recent sessions',
      type: 'table',
      description: 'The 50 most recently ended sessions.',
      width: 14,
      height: 9,
      columns: {
        duration_s: { unit: 's' },
        revenue: { unit: 'currencyUSD' },
        converted: { valueText: { 0: { text: 'no' }, 1: { text: 'yes', color: 'green' } } },
      },
      sql: sql`
        SELECT session_start, session_end, user_id, duration_s, page_views, events, converted, revenue
        FROM ${sessionsTable.current}
        WHERE $__timeFilter(session_end)
        ORDER BY session_end DESC
        LIMIT 50
      `,
    },
    {
      title: 'Dead letters by stage and reason',
      type: 'table',
      description: 'Rejected messages grouped by pipeline, stage and reason. The payloads are in rxa_dead_letters and the RXA_DLQ stream.',
      width: 10,
      height: 9,
      sql: sql`
        SELECT pipeline, stage, reason, count() AS messages, max(received_at) AS last_seen
        FROM rxa_dead_letters_current
        WHERE $__timeFilter(received_at)
        GROUP BY pipeline, stage, reason
        ORDER BY messages DESC
        LIMIT 50
      `,
    },
    {
      title: 'Late events by stage',
      type: 'table',
      description: 'Events dropped from windows because they arrived too late, per window stage.',
      width: 24,
      height: 6,
      columns: { max_lateness_s: { unit: 's' } },
      sql: sql`
        SELECT pipeline, stage, count() AS late_events, max(lateness_ms) / 1000 AS max_lateness_s, max(event_time) AS latest_event_time
        FROM rxa_late_events_current
        WHERE $__timeFilter(watermark)
        GROUP BY pipeline, stage
        ORDER BY late_events DESC
      `,
    },
  ],
});
