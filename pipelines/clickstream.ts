/**
 * The reference pipeline: clickstream events from JetStream to ClickHouse.
 *
 *   validate (ClickEvent schema, clock skew)       ← done by the runner from `schema`/`validation`
 *   → dedupe (event_id, 10 min event time)
 *   → enrich (URL path → page category: the catalog read from ClickHouse at start, paths it lacks looked up, cached)
 *   → raw events table
 *   → tumbling 1 min: page views per URL, unique users, funnel, revenue by country
 *   → hopping 5 min / 1 min: active users and top pages
 *   → session windows (5 min gap): sessions with duration, page count, conversion
 *
 * Event time throughout: windows close when the watermark (max event time − 5 s) passes them,
 * late events within 1 minute update their window, later ones go to rxa_late_events.
 */
import { filter, map, share } from 'rxjs';
import {
  combine,
  count,
  dedupe,
  definePipeline,
  distinct,
  enrich,
  hopping,
  type PipelineSettingsInput,
  session,
  sum,
  type TableRow,
  topK,
  tumbling,
  windowRow,
} from '../index.ts';
import { clickstreamDashboard } from './clickstream.dashboard.ts';
import { ClickEvent } from './clickstream-events.ts';
import { pageCategories, pageCategoryLookup, seedPages } from './clickstream-pages.ts';
import { clickstreamTables, type eventsTable } from './clickstream-tables.ts';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

export type EnrichedClick = ClickEvent & { path: string; page_category: string };

/**
 * Partitions of the clickstream: events of a user go to `<prefix>.<p>`, p = fnv1a32(user_id) mod
 * this (generator/partition.ts). `rxa gen` and the demo publish this many; the default export
 * declares as many, so each partition (and a user's sessions) can run in a process of its own.
 */
export const CLICKSTREAM_PARTITIONS = 4;

export interface ClickstreamOptions {
  /** @default 'clickstream' */
  name?: string;
  /** @default 'CLICKSTREAM' */
  stream?: string;
  /** Events arrive on `<prefix>.<partition>`. @default 'clickstream.events' */
  subjectPrefix?: string;
  /**
   * Run as this many key partitions, partition p reading `<prefix>.<p>` (one runner, consumer and
   * checkpoint each). The default export uses CLICKSTREAM_PARTITIONS.
   * @default unpartitioned: one runner reads every subject
   */
  partitions?: number;
  /** Runtime tuning (batch sizes, flush and checkpoint intervals). */
  settings?: PipelineSettingsInput;
}

/** The clickstream pipeline; options only rename its stream and subjects (tests use unique ones). */
export function createClickstreamPipeline({
  name = 'clickstream',
  stream = 'CLICKSTREAM',
  subjectPrefix = 'clickstream.events',
  partitions,
  settings = {},
}: ClickstreamOptions = {}) {
  const subjects = [`${subjectPrefix}.>`];
  return definePipeline({
    name,
    settings,
    source: partitions === undefined ? { stream, subjects } : { stream, subjects, partitions: { count: partitions, subject: (p) => `${subjectPrefix}.${p}` } },
    schema: ClickEvent,
    validation: {
      maxBytes: 32 * 1024,
      skew: { time: (e) => e.ts, maxFutureMs: 5 * MINUTE, maxPastMs: 7 * 24 * 60 * MINUTE },
    },
    // Every window's (and dedupe's): how out of order events may be, and how late they may still count.
    eventTime: { time: (e) => e.ts, maxOutOfOrderMs: 5 * SECOND, allowedLatenessMs: MINUTE },
    tables: clickstreamTables,
    // Shown by `rxa run --serve` beside pipeline health; `rxa dashboards` writes its Grafana JSON.
    dashboards: [clickstreamDashboard],
    setup: seedPages,

    build(events, ctx) {
      const clicks = events.pipe(
        dedupe({ id: 'dedupe', key: (e) => e.event_id, ttlMs: 10 * MINUTE }),
        enrich({
          id: 'page-category',
          key: (e) => pathOf(e.url),
          lookup: pageCategoryLookup(ctx),
          // The catalog is small: read whole at start, so the first events wait for one query, not one per page.
          preload: pageCategories(ctx),
          merge: (e, category, path) => enrichedClick(e, path, category ?? 'unknown'),
          timeoutMs: 5 * SECOND,
        }),
        share(),
      );

      return {
        events: clicks.pipe(map(toEventRow)),

        pageViews: clicks.pipe(
          filter((e) => e.type === 'page_view'),
          // The category is a function of the URL, so it can ride along in the key.
          tumbling({ id: 'page-views', sizeMs: MINUTE, key: (e) => [e.page_category, e.url], aggregate: count() }),
          map((w) => windowRow(w, { window_start: w.start, url: w.key[1], page_category: w.key[0], views: w.value })),
        ),

        uniqueUsers: clicks.pipe(
          tumbling({ id: 'unique-users', sizeMs: MINUTE, aggregate: distinct((e) => e.user_id) }),
          map((w) => windowRow(w, { window_start: w.start, users: w.value, events: w.count })),
        ),

        activeUsers: clicks.pipe(
          hopping({
            id: 'active-users',
            sizeMs: 5 * MINUTE,
            slideMs: MINUTE,
            aggregate: combine({
              users: distinct((e) => e.user_id),
              top: topK((e) => (e.type === 'page_view' ? e.path : undefined), 5),
            }),
          }),
          map((w) =>
            windowRow(w, {
              window_start: w.start,
              window_end: w.end,
              users: w.value.users,
              top_pages: w.value.top.map((t) => t.key),
              top_page_views: w.value.top.map((t) => t.count),
            }),
          ),
        ),

        sessions: clicks.pipe(
          session({
            id: 'sessions',
            gapMs: 5 * MINUTE,
            key: (e) => e.user_id,
            aggregate: combine({
              pageViews: count((e) => e.type === 'page_view'),
              purchases: count((e) => e.type === 'purchase'),
              revenue: sum((e) => (e.type === 'purchase' ? e.price * e.quantity : undefined)),
            }),
            // Sessions are emitted once, final, without the pipeline's allowed lateness: their start
            // must not move after a row was written.
            allowedLatenessMs: 0,
          }),
          map((w) => {
            const lastEvent = w.end - 5 * MINUTE;
            return windowRow(w, {
              user_id: w.key,
              session_start: w.start,
              session_end: lastEvent,
              duration_s: Math.round((lastEvent - w.start) / SECOND),
              page_views: w.value.pageViews,
              events: w.count,
              converted: w.value.purchases > 0 ? 1 : 0,
              revenue: round2(w.value.revenue),
            });
          }),
        ),

        funnel: clicks.pipe(
          tumbling({
            id: 'funnel',
            sizeMs: MINUTE,
            aggregate: combine({
              viewers: distinct((e) => (e.type === 'page_view' ? e.user_id : undefined)),
              carters: distinct((e) => (e.type === 'add_to_cart' ? e.user_id : undefined)),
              buyers: distinct((e) => (e.type === 'purchase' ? e.user_id : undefined)),
            }),
          }),
          map((w) => windowRow(w, { window_start: w.start, ...w.value })),
        ),

        revenue: clicks.pipe(
          filter((e) => e.type === 'purchase'),
          tumbling({
            id: 'revenue',
            sizeMs: MINUTE,
            key: (e) => e.country,
            aggregate: combine({
              revenue: sum((e) => (e.type === 'purchase' ? e.price * e.quantity : undefined)),
              items: sum((e) => (e.type === 'purchase' ? e.quantity : undefined)),
            }),
          }),
          map((w) => windowRow(w, { window_start: w.start, country: w.key, revenue: round2(w.value.revenue), orders: w.count, items: w.value.items })),
        ),
      };
    },
  });
}

export default createClickstreamPipeline({ partitions: CLICKSTREAM_PARTITIONS });

/**
 * `e` with its path and page category. Object.assign + two stores, not a spread: the spread takes
 * V8's slow path on this hot path and leaves dictionary-mode objects for every operator after it
 * (bench: -20%). The benchmark's peers build theirs here too, so they pay what the pipeline pays.
 */
export function enrichedClick(e: ClickEvent, path: string, category: string): EnrichedClick {
  const enriched = Object.assign({}, e) as EnrichedClick;
  enriched.path = path;
  enriched.page_category = category;
  return enriched;
}

/** The raw events table's row for an enriched event. */
export function toEventRow(e: EnrichedClick): TableRow<typeof eventsTable> {
  return {
    event_id: e.event_id,
    type: e.type,
    ts: e.ts,
    user_id: e.user_id,
    url: e.url,
    path: e.path,
    page_category: e.page_category,
    referrer: e.referrer,
    user_agent: e.user_agent,
    country: e.country,
    product_id: 'product_id' in e ? e.product_id : '',
    price: 'price' in e ? e.price : 0,
    quantity: 'quantity' in e ? e.quantity : 0,
    order_id: e.type === 'purchase' ? e.order_id : '',
  };
}

/** `https://shop.example.com/product/p-1?ref=x` → `/product/p-1`. */
export function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return '/';
  const end = url.search(/[?#]/);
  return end < 0 || end < start ? url.slice(start) : url.slice(start, end);
}

/** Money is summed in floating point; rows keep cents so equal inputs give equal rows. */
function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
