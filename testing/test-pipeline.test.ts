import { map } from 'rxjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { count } from '../aggregators/count.ts';
import { definePipeline } from '../core/pipeline.ts';
import { dedupe } from '../operators/dedupe.ts';
import { tumbling } from '../operators/tumbling.ts';
import clickstream from '../pipelines/clickstream.ts';
import type { ClickEvent } from '../pipelines/clickstream-events.ts';
import { sitePages } from '../pipelines/clickstream-site.ts';
import type { clickstreamTables, eventsTable } from '../pipelines/clickstream-tables.ts';
import { defineTable, type TableRow } from '../sinks/clickhouse/table.ts';
import { fakeClickHouse, TEST_CLOCK_START, type TestRows, testPipeline } from './index.ts';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const T0 = TEST_CLOCK_START;

/** The pages table the clickstream pipeline's enrichment looks URL paths up in, answered from the site map. */
const clickhouse = fakeClickHouse({
  query: ({ query }) => {
    const path = /WHERE path = '((?:[^'\\]|\\.)*)'/.exec(query)?.[1];
    const page = sitePages.find((p) => p.path === path);
    return page ? [{ category: page.category }] : [];
  },
});
const context = { clickhouse };

let ids = 0;
function pageView(ts: number, over: { user_id?: string; url?: string; event_id?: string } = {}): ClickEvent {
  return {
    type: 'page_view',
    event_id: over.event_id ?? `e-${++ids}`,
    ts,
    user_id: over.user_id ?? 'u-1',
    url: over.url ?? 'https://shop.example.com/cart',
    referrer: null,
    user_agent: 'test',
    country: 'DE',
  };
}

describe('testPipeline on the clickstream pipeline', () => {
  it('writes a valid click to the raw events table, enriched by the lookup in the context', async () => {
    const click: ClickEvent = { ...pageView(T0 + 1_500), type: 'click', url: 'https://shop.example.com/product/p-1042?ref=home', element: 'buy' };
    const { rows, deadLetters, late } = await testPipeline(clickstream, [click], { context });
    expect(rows.clickstream_events).toEqual([
      {
        event_id: click.event_id,
        type: 'click',
        ts: T0 + 1_000, // DateTime: ClickHouse keeps whole seconds
        user_id: 'u-1',
        url: 'https://shop.example.com/product/p-1042?ref=home',
        path: '/product/p-1042',
        page_category: 'product',
        referrer: null,
        user_agent: 'test',
        country: 'DE',
        product_id: '',
        price: 0,
        quantity: 0,
        order_id: '',
      },
    ]);
    expect(deadLetters).toEqual([]);
    expect(late).toEqual([]);
  });

  it('drops a duplicate (same event_id)', async () => {
    const event = pageView(T0);
    const { rows, stats } = await testPipeline(clickstream, [event, pageView(T0 + SECOND), event], { context });
    expect(rows.clickstream_events.map((r) => r.event_id)).toEqual([event.event_id, `e-${ids}`]);
    expect(stats['dedupe.duplicates']).toBe(1);
  });

  it('dead-letters malformed payloads with their reason, the message as received and its index', async () => {
    const wrongCountry = JSON.stringify({ ...pageView(T0), country: 'Germany' });
    const { rows, deadLetters } = await testPipeline(clickstream, [pageView(T0), '{"event_id": "e-1", ', wrongCountry, new Uint8Array([0xff, 0xfe])], {
      context,
    });
    expect(rows.clickstream_events).toHaveLength(1);
    expect(deadLetters).toEqual([
      { stage: 'validate', reason: expect.stringMatching(/^invalid JSON: /), payload: '{"event_id": "e-1", ', input: 1 },
      { stage: 'validate', reason: 'schema: country: Too big: expected string to have exactly 2 characters', payload: wrongCountry, input: 2 },
      { stage: 'validate', reason: expect.stringMatching(/^invalid UTF-8: /), payload: '\ufffd\ufffd', input: 3 },
    ]);
  });

  it('dead-letters an event too far ahead of its publish time (clock skew, against the publish clock)', async () => {
    const { deadLetters } = await testPipeline(clickstream, [{ payload: pageView(T0 + 6 * MINUTE), publishedAt: T0 }], { context });
    expect(deadLetters).toEqual([
      {
        stage: 'validate',
        reason: `clock skew: event time ${T0 + 6 * MINUTE} is 360000 ms ahead of publish time ${T0} (max 300000 ms)`,
        payload: expect.any(String),
        input: 0,
      },
    ]);
  });

  it('reports a late event for each window operator that had purged its window, and still writes its raw row', async () => {
    // The watermark reaches T0 + 3 min - 5 s: the 1-minute windows of T0 are past their minute of allowed lateness.
    const straggler = pageView(T0 + 10 * SECOND);
    const { rows, late } = await testPipeline(clickstream, [pageView(T0), pageView(T0 + 3 * MINUTE), straggler], { context });
    const watermark = T0 + 3 * MINUTE - 5 * SECOND;
    expect(late).toEqual(
      ['page-views', 'unique-users', 'funnel'].map((stage) => ({
        stage,
        event: expect.objectContaining({ event_id: straggler.event_id }),
        eventTime: T0 + 10 * SECOND,
        watermark,
        input: 2,
      })),
    );
    expect(rows.clickstream_events).toHaveLength(3);
    // The 5-minute hopping window [T0, T0 + 5 min) was still open: it counts the straggler.
    expect(rows.clickstream_active_users_5m.find((r) => r.window_start === T0)).toMatchObject({ top_page_views: [3], version: 3 });
  });

  it("closes windows when the input ends: a window's final count", async () => {
    const cart = 'https://shop.example.com/cart';
    const events = [
      pageView(T0 + 1 * SECOND, { user_id: 'u-1', url: cart }),
      pageView(T0 + 20 * SECOND, { user_id: 'u-2', url: cart }),
      pageView(T0 + 40 * SECOND, { user_id: 'u-1', url: cart }),
      pageView(T0 + 70 * SECOND, { user_id: 'u-1', url: cart }),
    ];
    const { rows } = await testPipeline(clickstream, events, { context });
    expect(rows.clickstream_page_views_1m).toEqual([
      { window_start: T0, url: cart, page_category: 'cart', views: 3, version: 3 },
      { window_start: T0 + MINUTE, url: cart, page_category: 'cart', views: 1, version: 1 },
    ]);
    expect(rows.clickstream_unique_users_1m).toEqual([
      { window_start: T0, users: 2, events: 3, version: 3 },
      { window_start: T0 + MINUTE, users: 1, events: 1, version: 1 },
    ]);
    // Sessions close in the order they end (the last event + the 5-minute gap).
    expect(rows.clickstream_sessions).toMatchObject([
      { user_id: 'u-2', session_start: T0 + 20 * SECOND, session_end: T0 + 20 * SECOND, page_views: 1, events: 1 },
      { user_id: 'u-1', session_start: T0 + SECOND, session_end: T0 + 70 * SECOND, duration_s: 69, page_views: 3, events: 3 },
    ]);
  });

  it("shows every version written with versions: 'all' (early results between messages, then the final one)", async () => {
    const events = [pageView(T0), pageView(T0 + SECOND), pageView(T0 + 2 * SECOND)];
    const all = await testPipeline(clickstream, events, { context, versions: 'all' });
    expect(all.rows.clickstream_page_views_1m.map((r) => r.version)).toEqual([1, 2, 3]);
    const quiet = await testPipeline(clickstream, events, { context, versions: 'all', earlyResults: false });
    expect(quiet.rows.clickstream_page_views_1m.map((r) => r.version)).toEqual([3]);
  });

  it('runs lookup timeouts and retries in virtual time, then dead-letters the events waiting for them', async () => {
    const hanging = fakeClickHouse({ query: () => new Promise<never>(() => {}) });
    const started = performance.now();
    const { rows, deadLetters, stats } = await testPipeline(clickstream, [pageView(T0), pageView(T0 + SECOND)], { context: { clickhouse: hanging } });
    // Three attempts of 5 s each and two backoffs: over 15 s of processing time, none of it real.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(rows.clickstream_events).toEqual([]);
    expect(deadLetters.map((d) => [d.stage, d.reason, d.input])).toEqual([
      ['page-category', 'lookup timed out after 5000 ms (3 attempts)', 0],
      ['page-category', 'lookup timed out after 5000 ms (3 attempts)', 1],
    ]);
    expect(stats['page-category.timeouts']).toBe(3);
  });

  it('without a ClickHouse in the context, dead-letters the lookups saying so', async () => {
    const { deadLetters } = await testPipeline(clickstream, [pageView(T0)]);
    expect(deadLetters).toMatchObject([{ stage: 'page-category', reason: expect.stringContaining('no ClickHouse in this test') }]);
  });

  it('continues from a snapshot of an earlier run, as after a restart from a checkpoint', async () => {
    const first = pageView(T0);
    const before = await testPipeline(clickstream, [first, pageView(T0 + SECOND)], { context, end: false });
    expect(before.snapshot).toBeInstanceOf(Uint8Array);
    // Not ended: the open window's early result is written, not yet final.
    expect(before.rows.clickstream_page_views_1m).toMatchObject([{ window_start: T0, views: 2 }]);

    const after = await testPipeline(clickstream, [first, pageView(T0 + 2 * SECOND)], {
      context,
      restore: before.snapshot!,
      clock: { start: T0 + 2 * SECOND },
    });
    expect(after.stats['dedupe.duplicates']).toBe(1); // remembered across the restart
    expect(after.rows.clickstream_page_views_1m).toMatchObject([{ window_start: T0, views: 3, version: 3 }]);
  });

  it("runs partition 0 of a partitioned pipeline by default; another partition's messages are not delivered", async () => {
    // Without a subject, a message goes to the run's partition: here on partition 0's subject.
    const events = [pageView(T0), { payload: pageView(T0 + SECOND), subject: 'clickstream.events.1' }];
    const zero = await testPipeline(clickstream, events, { context });
    expect(zero.rows.clickstream_events.map((r) => r.ts)).toEqual([T0]);
    const one = await testPipeline(clickstream, [{ payload: pageView(T0), subject: 'clickstream.events.0' }, events[1]!], { context, partition: 1 });
    expect(one.rows.clickstream_events.map((r) => r.ts)).toEqual([T0 + SECOND]);
    await expect(testPipeline(clickstream, [{ payload: pageView(T0), subject: 'elsewhere' }], { context })).rejects.toThrow(/does not capture/);
  });

  it("types each table's rows from the table definition, keyed by the table's name", async () => {
    const { rows } = await testPipeline(clickstream, [pageView(T0)], { context });
    expectTypeOf(rows.clickstream_events).toEqualTypeOf<Array<TableRow<typeof eventsTable>>>();
    expectTypeOf(rows.clickstream_events[0]!.user_id).toEqualTypeOf<string>();
    expectTypeOf<TestRows<typeof clickstreamTables>['clickstream_events'][number]['referrer']>().toEqualTypeOf<string | null>();
    // @ts-expect-error keyed by table name, not by the key in the pipeline's `tables`
    expect(rows.events).toBeUndefined();
    expect(rows.clickstream_events[0]?.user_id).toBe('u-1');
  });
});

describe('testPipeline, failures', () => {
  const Click = z.object({ page: z.string(), ts: z.number() });
  const pages = defineTable('pages', { columns: { page: 'String', n: 'UInt32', at: 'DateTime' }, orderBy: ['page'] });

  it('rejects when an output fails (an exception in user code)', async () => {
    const failing = definePipeline({
      name: 'failing',
      source: { stream: 'FAILING', subjects: ['failing.>'] },
      schema: Click,
      tables: { pages },
      build: (clicks) => ({
        pages: clicks.pipe(
          map((c) => {
            if (c.page === '/boom') throw new Error('boom');
            return { page: c.page, n: 1, at: c.ts };
          }),
        ),
      }),
    });
    await expect(
      testPipeline(failing, [
        { page: '/a', ts: 0 },
        { page: '/boom', ts: 0 },
      ]),
    ).rejects.toThrow(/output 'pages' failed: Error: boom/);
  });

  it('runs one pipeline at a time (RxJS timers are process-wide)', async () => {
    const runs = await Promise.allSettled([testPipeline(clickstream, [pageView(T0)], { context }), testPipeline(clickstream, [pageView(T0)], { context })]);
    expect(runs.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(runs[1]).toMatchObject({ reason: expect.objectContaining({ message: expect.stringMatching(/another test pipeline is running/) }) });
  });

  it('dead-letters a row ClickHouse would refuse (a value of the wrong type cast into it), as the writer does', async () => {
    const casting = definePipeline({
      name: 'casting',
      source: { stream: 'CASTING', subjects: ['casting.>'] },
      schema: Click,
      tables: { pages },
      build: (clicks) => ({ pages: clicks.pipe(map((c) => ({ page: c.page, n: (c.page === '/bad' ? 'many' : 2) as number, at: c.ts }))) }),
    });
    const { rows, deadLetters } = await testPipeline(casting, [
      { page: '/a', ts: 5_500 },
      { page: '/bad', ts: 0 },
    ]);
    expect(rows.pages).toEqual([{ page: '/a', n: 2, at: 5_000 }]);
    expect(deadLetters).toEqual([
      {
        stage: 'clickhouse:pages',
        reason: expect.stringContaining(`column 'n' (UInt32) cannot hold "many"`),
        payload: '{"rxa_partition":0,"page":"/bad","n":"many","at":0}',
        input: undefined,
      },
    ]);
  });
});

// The example of docs/testing.md, as it is there (imports aside): keep the two in step.
const PageView = z.object({ event_id: z.string(), page: z.string(), ts: z.number().int() });

const pageViews = defineTable('page_views_1m', {
  columns: { window_start: 'DateTime', page: 'String', views: 'UInt64', version: 'UInt64' },
  orderBy: ['window_start', 'page'],
  version: 'version',
});

const pipeline = definePipeline({
  name: 'page_views',
  source: { stream: 'PAGE_VIEWS', subjects: ['page.views.>'] },
  schema: PageView,
  tables: { pageViews },
  build: (views) => ({
    pageViews: views.pipe(
      dedupe({ id: 'dedupe', key: (v) => v.event_id, time: (v) => v.ts, ttlMs: 600_000 }),
      tumbling({ id: 'views', sizeMs: 60_000, key: (v) => v.page, time: (v) => v.ts, aggregate: count(), maxOutOfOrderMs: 5_000 }),
      map((w) => ({ window_start: w.start, page: w.key, views: w.value, version: w.count })),
    ),
  }),
});

describe('page views per minute (the docs/testing.md example)', () => {
  const t0 = Date.UTC(2025, 0, 1);

  it('counts views per page per minute, once per event_id', async () => {
    const { rows, deadLetters, late } = await testPipeline(pipeline, [
      { event_id: 'a', page: '/home', ts: t0 },
      { event_id: 'b', page: '/home', ts: t0 + 30_000 },
      { event_id: 'b', page: '/home', ts: t0 + 30_000 }, // a redelivery: dropped
      { event_id: 'c', page: '/cart', ts: t0 + 70_000 },
      'not json',
      { event_id: 'd', page: '/home', ts: t0 + 5_000 }, // [t0, t0 + 1 min) closed when c came: late
    ]);

    expect(rows.page_views_1m).toEqual([
      { window_start: t0, page: '/home', views: 2, version: 2 },
      { window_start: t0 + 60_000, page: '/cart', views: 1, version: 1 },
    ]);
    expect(deadLetters).toEqual([{ stage: 'validate', reason: expect.stringMatching(/^invalid JSON/), payload: 'not json', input: 4 }]);
    expect(late).toMatchObject([{ stage: 'views', eventTime: t0 + 5_000, input: 5 }]);
  });
});

describe('testPipeline, virtual time', () => {
  const Tick = z.object({ ts: z.number() });
  const ticks = defineTable('ticks_1m', {
    columns: { window_start: 'DateTime', ticks: 'UInt64', version: 'UInt64' },
    orderBy: ['window_start'],
    version: 'version',
  });
  const early = definePipeline({
    name: 'early',
    source: { stream: 'EARLY', subjects: ['early.>'] },
    schema: Tick,
    tables: { ticks },
    build: (events) => ({
      ticks: events.pipe(
        tumbling({ id: 'ticks', sizeMs: 60_000, time: (e) => e.ts, aggregate: count(), earlyFiring: { everyMs: 10_000 } }),
        map((w) => ({ window_start: w.start, ticks: w.value, version: w.count })),
      ),
    }),
  });

  it('fires processing-time timers (earlyFiring) as the publish clock passes them, without waiting', async () => {
    const started = performance.now();
    const { rows } = await testPipeline(
      early,
      [
        { payload: { ts: T0 }, publishedAt: T0 },
        { payload: { ts: T0 + 1 }, publishedAt: T0 + 25_000 },
        { payload: { ts: T0 + 2 }, publishedAt: T0 + 45_000 },
      ],
      { versions: 'all', earlyResults: false },
    );
    expect(performance.now() - started).toBeLessThan(5_000);
    // The timer at +10 s emits the first tick, +20 s nothing new, +30 s the second, +40 s nothing new; the end of input the final result.
    expect(rows.ticks_1m.map((r) => r.ticks)).toEqual([1, 2, 3]);
  });
});
