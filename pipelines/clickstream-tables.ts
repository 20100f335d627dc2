import { defineTable } from '../index.ts';

/**
 * The clickstream pipeline's output tables. Windowed tables carry `version` = events folded into
 * the window, so the complete result replaces early ones. Read them through their views
 * (`<table>_current`): numbers sum across partitions (each holds disjoint users), the rest is
 * taken from any partition's row.
 */

/** Every validated, de-duplicated, enriched event. */
export const eventsTable = defineTable('clickstream_events', {
  columns: {
    event_id: 'String',
    type: 'String',
    ts: 'DateTime',
    user_id: 'String',
    url: 'String',
    path: 'String',
    page_category: 'String',
    referrer: 'Nullable(String)',
    user_agent: 'String',
    country: 'String',
    product_id: 'String',
    price: 'Float64',
    quantity: 'UInt32',
    order_id: 'String',
  },
  orderBy: ['ts', 'event_id'],
  partitionByMonth: 'ts',
});

/** Page views per URL per minute (tumbling 1 min). */
export const pageViewsTable = defineTable('clickstream_page_views_1m', {
  columns: { window_start: 'DateTime', url: 'String', page_category: 'String', views: 'UInt64', version: 'UInt64' },
  orderBy: ['window_start', 'url'],
  version: 'version',
  partitionByMonth: 'window_start',
});

/** Unique users per minute (tumbling 1 min, exact distinct count). */
export const uniqueUsersTable = defineTable('clickstream_unique_users_1m', {
  columns: { window_start: 'DateTime', users: 'UInt64', events: 'UInt64', version: 'UInt64' },
  orderBy: ['window_start'],
  version: 'version',
  partitionByMonth: 'window_start',
});

/** Active users and top pages over the last 5 minutes, every minute (hopping 5 min / 1 min). */
export const activeUsersTable = defineTable('clickstream_active_users_5m', {
  columns: {
    window_start: 'DateTime',
    window_end: 'DateTime',
    users: 'UInt64',
    top_pages: 'Array(String)',
    top_page_views: 'Array(UInt64)',
    version: 'UInt64',
  },
  orderBy: ['window_start'],
  version: 'version',
  partitionByMonth: 'window_start',
  // Each partition's own top 5: lists do not merge (the dashboard ranks pages from page views instead).
  merge: { top_pages: 'any', top_page_views: 'any' },
});

/** One row per user session (session window, 5 min inactivity gap). */
export const sessionsTable = defineTable('clickstream_sessions', {
  columns: {
    user_id: 'String',
    session_start: 'DateTime',
    session_end: 'DateTime',
    duration_s: 'UInt64',
    page_views: 'UInt64',
    events: 'UInt64',
    converted: 'UInt8',
    revenue: 'Float64',
    version: 'UInt64',
  },
  orderBy: ['user_id', 'session_start'],
  version: 'version',
  partitionByMonth: 'session_start',
});

/** View -> add to cart -> purchase funnel per minute: distinct users reaching each step. */
export const funnelTable = defineTable('clickstream_funnel_1m', {
  columns: { window_start: 'DateTime', viewers: 'UInt64', carters: 'UInt64', buyers: 'UInt64', version: 'UInt64' },
  orderBy: ['window_start'],
  version: 'version',
  partitionByMonth: 'window_start',
});

/** Revenue per minute by country. */
export const revenueTable = defineTable('clickstream_revenue_1m', {
  columns: { window_start: 'DateTime', country: 'String', revenue: 'Float64', orders: 'UInt64', items: 'UInt64', version: 'UInt64' },
  orderBy: ['window_start', 'country'],
  version: 'version',
  partitionByMonth: 'window_start',
});

/** Reference data for enrichment: URL path -> page category. Seeded from the site map. */
export const pagesTable = defineTable('clickstream_pages', {
  columns: { path: 'String', category: 'String' },
  orderBy: ['path'],
});

export const clickstreamTables = {
  events: eventsTable,
  pageViews: pageViewsTable,
  uniqueUsers: uniqueUsersTable,
  activeUsers: activeUsersTable,
  sessions: sessionsTable,
  funnel: funnelTable,
  revenue: revenueTable,
} as const;
