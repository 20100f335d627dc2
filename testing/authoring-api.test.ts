/**
 * The authoring API: event time declared once per pipeline and inherited by its windows.
 */
import { map, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { count } from '../aggregators/count.ts';
import { definePipeline } from '../core/pipeline.ts';
import { tumbling } from '../operators/tumbling.ts';
import { defineTable } from '../sinks/clickhouse/table.ts';
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
        map((w) => ({ window_start: w.start, views: w.value, version: w.count })),
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
