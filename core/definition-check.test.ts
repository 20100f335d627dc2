/**
 * Definition bugs fail with the file, the pipeline and the thing named, before anything is consumed:
 * a file without a pipeline, two stateful operators with one id (a dry build at load), an output
 * without a table, a first row that does not fit its table.
 */
import { map, type Observable, share } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { count } from '../aggregators/count.ts';
import { dedupe } from '../operators/dedupe.ts';
import { tumbling } from '../operators/tumbling.ts';
import { defineTable } from '../sinks/clickhouse/table.ts';
import { Click, context, pageViewsPipeline } from '../test/fixtures/page-views-pipeline.ts';
import { assertPipelineBuilds } from './definition-check.ts';
import { PipelineEngine, type SourceRecord } from './engine.ts';
import { loadPipeline } from './load-pipeline.ts';
import { definePipeline, type PipelineDefinition } from './pipeline.ts';

const views = defineTable('views', { columns: { page: 'String', views: 'UInt64' }, orderBy: ['page'] });
type ClickEvent = z.output<typeof Click>;
const source = { stream: 'DEFS_TEST', subjects: ['defs.test.>'] };

/** Two window operators given the same id, in one output. */
const sharedIds = definePipeline({
  name: 'shared_ids',
  source,
  schema: Click,
  tables: { views },
  build: (clicks) => {
    const unique = clicks.pipe(dedupe({ id: 'per-page', key: (c) => `${c.page}:${c.ts}`, time: (c) => c.ts, ttlMs: 60_000 }), share());
    return {
      views: unique.pipe(
        tumbling({ id: 'per-page', sizeMs: 60_000, key: (c) => c.page, time: (c) => c.ts, aggregate: count() }),
        map((w) => ({ page: w.key, views: w.value })),
      ),
    };
  },
});

let seq = 0;
const record = (page: string, ts: number): SourceRecord => ({
  payload: new TextEncoder().encode(JSON.stringify({ page, ts })),
  subject: 'defs.test.0',
  seq: ++seq,
  published: ts,
});

describe('loadPipeline', () => {
  it('names the file and its exports when it has no pipeline', async () => {
    const load = loadPipeline('pipelines/mine.ts', async () => ({ views, createPipeline: () => pageViewsPipeline }));
    await expect(load).rejects.toThrow(
      "pipelines/mine.ts: no pipeline: export one as the default export (export default definePipeline({...})) or as 'pipeline'; its exports are views, createPipeline",
    );
    await expect(loadPipeline('empty.ts', async () => ({}))).rejects.toThrow(/^empty\.ts: no pipeline: .*; it exports nothing$/);
  });

  it('names the file when importing it fails (a table name that is not an identifier)', async () => {
    const load = loadPipeline('tables.ts', async () => ({ default: defineTable('page-views', { columns: { url: 'String' }, orderBy: ['url'] }) }));
    await expect(load).rejects.toThrow(
      'tables.ts: defineTable: the table name "page-views" must be a SQL identifier: letters, digits and _, not starting with a digit, at most 63 characters',
    );
  });

  it('takes the default export or `pipeline`', async () => {
    await expect(loadPipeline('a.ts', async () => ({ default: pageViewsPipeline }))).resolves.toBe(pageViewsPipeline);
    await expect(loadPipeline('b.ts', async () => ({ pipeline: pageViewsPipeline }))).resolves.toBe(pageViewsPipeline);
  });

  it('names the file when the export is not a pipeline definition', async () => {
    await expect(loadPipeline('c.ts', async () => ({ default: { name: 'x' } }))).rejects.toThrow(/^c\.ts: not a valid pipeline definition:\n {2}- source: /);
  });

  it('names the file, the pipeline and the id when two stateful operators share one, before anything runs', async () => {
    await expect(loadPipeline('shared.ts', async () => ({ default: sharedIds }))).rejects.toThrow(
      "shared.ts: pipeline shared_ids: two operators share the id 'per-page'; give each stateful operator a distinct id",
    );
  });
});

describe('assertPipelineBuilds', () => {
  it('builds the operators with no input and takes them down', () => {
    expect(() => assertPipelineBuilds(pageViewsPipeline)).not.toThrow();
  });

  it('names an output that has no table', () => {
    const typo = {
      ...pageViewsPipeline,
      build: (events) => ({ view: pageViewsPipeline.build(events as Observable<ClickEvent>, context).views }),
    } as PipelineDefinition;
    expect(() => assertPipelineBuilds(typo)).toThrow("pipeline page_views_test: build() returned output 'view' but there is no such table");
  });

  it('refuses a stream that feeds two outputs without share(): its stateful operators would run twice', () => {
    const twoTables = { views, pages: defineTable('pages', { columns: { page: 'String', views: 'UInt64' }, orderBy: ['page'] }) };
    const fanOut = (shared: boolean) =>
      definePipeline({
        name: 'fan_out',
        source,
        schema: Click,
        tables: twoTables,
        build: (clicks) => {
          const deduped = clicks.pipe(dedupe({ key: (c) => `${c.page}:${c.ts}`, time: (c) => c.ts, ttlMs: 60_000 }));
          const unique = shared ? deduped.pipe(share()) : deduped;
          const perPage = unique.pipe(map((c) => ({ page: c.page, views: 1 })));
          return { views: perPage, pages: unique.pipe(map((c) => ({ page: c.page, views: 0 }))) };
        },
      });
    expect(() => assertPipelineBuilds(fanOut(false))).toThrow(
      "pipeline fan_out: the dedupe operator 'dedupe#0' is subscribed twice, so it would run twice with two states. " +
        'A stream that feeds several outputs must be shared: `const clicks = events.pipe(dedupe({...}), share())`',
    );
    expect(() => assertPipelineBuilds(fanOut(true))).not.toThrow();
    // Two calls of the same factory are two operators, whatever their options.
    const options = { sizeMs: 60_000, key: (c: ClickEvent) => c.page, time: (c: ClickEvent) => c.ts, aggregate: count() };
    const twoWindows = definePipeline({
      name: 'two_windows',
      source,
      schema: Click,
      tables: twoTables,
      build: (clicks) => ({
        views: clicks.pipe(
          tumbling(options),
          map((w) => ({ page: w.key, views: w.value })),
        ),
        pages: clicks.pipe(
          tumbling(options),
          map((w) => ({ page: w.key, views: w.value })),
        ),
      }),
    });
    expect(() => assertPipelineBuilds(twoWindows)).not.toThrow();
  });

  it('names the pipeline when build() throws', () => {
    const broken = {
      ...pageViewsPipeline,
      build: () => {
        throw new Error('sizeMs must be > 0');
      },
    } as PipelineDefinition;
    expect(() => assertPipelineBuilds(broken)).toThrow('pipeline page_views_test: build() failed: sizeMs must be > 0');
  });

  it('skips the check when build() uses the ClickHouse client while wiring', () => {
    const eager = {
      ...pageViewsPipeline,
      build: (events, ctx) => {
        void ctx.clickhouse.query;
        return pageViewsPipeline.build(events as Observable<ClickEvent>, ctx);
      },
    } as PipelineDefinition;
    expect(() => assertPipelineBuilds(eager)).not.toThrow();
  });
});

describe("an output's first row that does not fit its table", () => {
  /** `views` from a build that maps each click to `row`. */
  const rowsOf = (row: (page: string) => Record<string, unknown>) =>
    definePipeline({
      name: 'first_rows',
      source,
      schema: Click,
      tables: { views },
      build: (clicks) => ({ views: clicks.pipe(map((c) => row(c.page) as { page: string; views: number })) }),
    });

  it('fails the run at the first row when a column is missing, and nothing of it is cut', () => {
    const engine = new PipelineEngine(
      rowsOf((page) => ({ page, view_count: 1 })),
      context,
    );
    engine.push(record('/a', 1_000));
    expect(String(engine.error)).toBe(
      "Error: pipeline first_rows, table views: row is missing column views (it has 'view_count', which the table does not) (the first row of output 'views')",
    );
    expect(() => engine.cut(undefined)).toThrow(/row is missing column views/);
  });

  it('fails the run at the first row when a value has the wrong type', () => {
    const engine = new PipelineEngine(
      rowsOf((page) => ({ page, views: 'abc' })),
      context,
    );
    engine.push(record('/a', 1_000));
    expect(String(engine.error)).toBe("Error: pipeline first_rows, table views: column views is UInt64, got string 'abc' (the first row of output 'views')");
  });

  it('leaves later rows to the writer: a wrong value after the first row is data', () => {
    const engine = new PipelineEngine(
      rowsOf((page) => ({ page, views: page === '/b' ? 'abc' : 1 })),
      context,
    );
    engine.push(record('/a', 1_000));
    engine.push(record('/b', 2_000));
    expect(engine.error).toBeUndefined();
    expect(engine.cut(undefined).rows.get(views)?.decode()).toEqual([
      { rxa_partition: 0, page: '/a', views: 1 },
      { rxa_partition: 0, page: '/b', views: 'abc' },
    ]);
  });
});
