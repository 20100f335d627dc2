/**
 * The authoring API: event time declared once per pipeline and inherited by its windows; composite
 * window keys (tuples, records), unpacked in results and kept across a restore.
 */
import { map, of } from 'rxjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { count } from '../aggregators/count.ts';
import { definePipeline } from '../core/pipeline.ts';
import { dedupe } from '../operators/dedupe.ts';
import { session } from '../operators/session.ts';
import { tumbling } from '../operators/tumbling.ts';
import { defineTable } from '../sinks/clickhouse/table.ts';
import { windowRow } from '../windows/window-row.ts';
import { TEST_CLOCK_START, testPipeline } from './index.ts';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const T0 = TEST_CLOCK_START;

const Click = z.object({ at: z.number(), url: z.string(), category: z.string(), price: z.number() });
type Click = z.output<typeof Click>;

const counts = defineTable('authoring_counts', {
  columns: { window_start: 'DateTime', views: 'UInt64', version: 'UInt64' },
  orderBy: ['window_start'],
  version: 'version',
});

function countsPipeline(allowedLatenessMs?: number) {
  return definePipeline({
    name: 'authoring',
    source: { stream: 'AUTHORING', subjects: ['authoring.>'] },
    schema: Click,
    eventTime: { time: (e) => e.at, maxOutOfOrderMs: 5 * SECOND, allowedLatenessMs: 0 },
    tables: { counts },
    build: (events) => ({
      counts: events.pipe(
        tumbling({ sizeMs: MINUTE, aggregate: count(), ...(allowedLatenessMs === undefined ? {} : { allowedLatenessMs }) }),
        map((w) => windowRow(w, { window_start: w.start, views: w.value })),
      ),
    }),
  });
}

const click = (at: number): Click => ({ at, url: 'https://x/a', category: 'a', price: 1 });

describe("a pipeline's eventTime", () => {
  it('is inherited by a window that sets no time: its accessor, watermark delay and lateness', async () => {
    // The watermark reaches T0 + 65 s - 5 s: the first window closes, lateness 0 makes the straggler late.
    const { rows, late } = await testPipeline(countsPipeline(), [click(T0), click(T0 + 10 * SECOND), click(T0 + 65 * SECOND), click(T0 + 20 * SECOND)]);
    expect(rows.authoring_counts).toEqual([
      { window_start: T0, views: 2, version: 2 },
      { window_start: T0 + MINUTE, views: 1, version: 1 },
    ]);
    expect(late.map((l) => l.eventTime)).toEqual([T0 + 20 * SECOND]);
  });

  it('is overridden by the options a window sets', async () => {
    const { rows, late } = await testPipeline(countsPipeline(MINUTE), [click(T0), click(T0 + 10 * SECOND), click(T0 + 65 * SECOND), click(T0 + 20 * SECOND)]);
    expect(rows.authoring_counts).toEqual([
      { window_start: T0, views: 3, version: 3 },
      { window_start: T0 + MINUTE, views: 1, version: 1 },
    ]);
    expect(late).toEqual([]);
  });

  it('is required of a window when nothing gives it a time', () => {
    const errors: unknown[] = [];
    of(click(T0))
      .pipe(tumbling({ sizeMs: MINUTE, aggregate: count(), sideOutput: () => {} }))
      .subscribe({ error: (error: unknown) => errors.push(error) });
    expect(String(errors[0])).toMatch(/tumbling: no event time; pass 'time'/);
  });

  it('is inherited by dedupe, whose TTL is in event time', async () => {
    const deduped = definePipeline({
      name: 'authoring',
      source: { stream: 'AUTHORING', subjects: ['authoring.>'] },
      schema: Click,
      eventTime: { time: (e) => e.at },
      tables: { counts },
      build: (events) => ({
        counts: events.pipe(
          dedupe({ key: (e) => e.url, ttlMs: 30 * SECOND }),
          tumbling({ sizeMs: MINUTE, aggregate: count() }),
          map((w) => windowRow(w, { window_start: w.start, views: w.value })),
        ),
      }),
    });
    // The same url again after 10 s is a duplicate; after 40 s (past the TTL in event time) it is not.
    const { rows } = await testPipeline(deduped, [click(T0), click(T0 + 10 * SECOND), click(T0 + 50 * SECOND)]);
    expect(rows.authoring_counts).toEqual([{ window_start: T0, views: 2, version: 2 }]);
    const errors: unknown[] = [];
    of(click(T0))
      .pipe(dedupe({ key: (e) => e.url, ttlMs: SECOND }))
      .subscribe({ error: (error: unknown) => errors.push(error) });
    expect(String(errors[0])).toMatch(/dedupe: no event time; pass 'time'/);
  });

  it('is checked when the pipeline is defined', () => {
    expect(() =>
      definePipeline({
        name: 'authoring',
        source: { stream: 'AUTHORING', subjects: ['authoring.>'] },
        schema: Click,
        eventTime: { time: (e) => e.at, maxOutOfOrderMs: -1 },
        tables: {},
        build: () => ({}),
      }),
    ).toThrow(/eventTime\.maxOutOfOrderMs/);
  });
});

const byPage = defineTable('authoring_by_page', {
  columns: { window_start: 'DateTime', category: 'String', url: 'String', views: 'UInt64', version: 'UInt64' },
  orderBy: ['window_start', 'category', 'url'],
  version: 'version',
});
const byUser = defineTable('authoring_by_user', {
  columns: { url: 'String', session_start: 'DateTime', views: 'UInt64', version: 'UInt64' },
  orderBy: ['url', 'session_start'],
  version: 'version',
});

/** The same rows keyed by a tuple, a record and (sessions) a tuple of one. */
const compositePipeline = definePipeline({
  name: 'authoring',
  source: { stream: 'AUTHORING', subjects: ['authoring.>'] },
  schema: Click,
  eventTime: { time: (e) => e.at, maxOutOfOrderMs: 0 },
  tables: { tuples: byPage, records: byPage, sessions: byUser },
  build: (events) => ({
    tuples: events.pipe(
      tumbling({ id: 'tuples', sizeMs: MINUTE, key: (e) => [e.category, e.url], aggregate: count() }),
      map(({ key: [category, url], ...w }) => windowRow(w, { window_start: w.start, category, url, views: w.value })),
    ),
    records: events.pipe(
      tumbling({ id: 'records', sizeMs: MINUTE, key: (e) => ({ category: e.category, url: e.url }), aggregate: count() }),
      map((w) => windowRow(w, { window_start: w.start, ...w.key, views: w.value })),
    ),
    sessions: events.pipe(
      session({ id: 'sessions', gapMs: MINUTE, key: (e) => [e.url], aggregate: count() }),
      map((w) => windowRow(w, { url: w.key[0], session_start: w.start, views: w.value })),
    ),
  }),
});

const page = (at: number, category: string, url: string): Click => ({ at, url, category, price: 1 });

describe('composite window keys', () => {
  // Parts that a packed string would confuse: a tab, a quote, a marker character, a number-like string.
  const events = [
    page(T0, 'a\tb', 'https://x/"1"'),
    page(T0 + SECOND, 'a', 'b\thttps://x/"1"'),
    page(T0 + 2 * SECOND, '\u0001x', '1'),
    page(T0 + 3 * SECOND, 'a\tb', 'https://x/"1"'),
  ];
  const expected = [
    { window_start: T0, category: 'a\tb', url: 'https://x/"1"', views: 2, version: 2 },
    { window_start: T0, category: 'a', url: 'b\thttps://x/"1"', views: 1, version: 1 },
    { window_start: T0, category: '\u0001x', url: '1', views: 1, version: 1 },
  ];
  const sort = <R extends { category: string; url: string }>(rows: readonly R[]): R[] => [...rows].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));

  it('reach rows unpacked, tuples and records alike, distinct where a packed string would merge them', async () => {
    const { rows } = await testPipeline(compositePipeline, events);
    expect(sort(rows.authoring_by_page)).toEqual(sort(expected));
    expect(rows.authoring_by_user.map((r) => [r.url, r.views]).sort()).toEqual([
      ['1', 1],
      ['b\thttps://x/"1"', 1],
      ['https://x/"1"', 2],
    ]);
  });

  it('survive a checkpoint: a run restored from a snapshot continues the same windows and sessions', async () => {
    const before = await testPipeline(compositePipeline, events.slice(0, 2), { end: false });
    const after = await testPipeline(compositePipeline, events.slice(2), { restore: before.snapshot!, clock: { start: T0 + 2 * SECOND } });
    expect(sort(after.rows.authoring_by_page)).toEqual(sort(expected));
    expect(after.rows.authoring_by_user.find((r) => r.url === 'https://x/"1"')).toMatchObject({ session_start: T0, views: 2 });
  });

  it('refuse a checkpoint whose windows were keyed by a packed string, saying the key changed, instead of writing rows from it', async () => {
    const packed = definePipeline({
      ...compositePipeline,
      tables: { tuples: byPage },
      build: (events) => ({
        tuples: events.pipe(
          tumbling({ id: 'tuples', sizeMs: MINUTE, key: (e) => `${e.category}\t${e.url}`, aggregate: count() }),
          map((w) => windowRow(w, { window_start: w.start, category: w.key.split('\t')[0]!, url: w.key.split('\t')[1]!, views: w.value })),
        ),
      }),
    });
    const tuples = definePipeline({
      ...compositePipeline,
      tables: { tuples: byPage },
      build: (events) => ({ tuples: compositePipeline.build(events, undefined as never).tuples! }),
    });
    const before = await testPipeline(packed, [page(T0, 'a', 'u')], { end: false });
    await expect(testPipeline(tuples, [page(T0 + SECOND, 'a', 'u')], { restore: before.snapshot!, clock: { start: T0 + SECOND } })).rejects.toThrow(
      /tuples: a window restored from the checkpoint has the key "a\\tu", but this pipeline keys the window by a tuple or record; .*rxa reset/,
    );
  });
});

describe('windowRow', () => {
  it("fills the version column from the window's event count; a column named otherwise when given", () => {
    const w = { count: 3 };
    const row = windowRow(w, { window_start: T0, views: 3 });
    expectTypeOf(row).toEqualTypeOf<{ window_start: number; views: number } & { version: number }>();
    expect(row).toEqual({ window_start: T0, views: 3, version: 3 });
    expect(windowRow(w, { n: 1 }, 'rev')).toEqual({ n: 1, rev: 3 });
    // @ts-expect-error the version is the window's, not set by hand
    windowRow(w, { n: 1, version: 2 });
  });
});
