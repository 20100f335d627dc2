/**
 * Each committed dashboards/*.json is exactly what its TypeScript definition generates, so Grafana
 * and the live page never drift apart. To fix a failure: `npx tsx scripts/build-dashboards.ts`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { eventsTable, sessionsTable } from '../pipelines/clickstream-tables.ts';
import { defineDashboard, durationMs, layout } from './definition.ts';
import { dashboardFileName } from './grafana-files.ts';
import { dashboards } from './registry.ts';
import { sql } from './sql.ts';
import { toGrafana } from './to-grafana.ts';

const dir = fileURLToPath(new URL('./', import.meta.url));
const REGENERATE = 'npx tsx scripts/build-dashboards.ts';

describe('committed Grafana JSON', () => {
  it.each(dashboards.map((d) => [dashboardFileName(d), d] as const))('dashboards/%s is up to date with its definition', (file, dashboard) => {
    let committed: unknown;
    try {
      committed = JSON.parse(readFileSync(`${dir}${file}`, 'utf8'));
    } catch (error) {
      throw new Error(`dashboards/${file} is missing or not JSON (${String(error)}); generate it with: ${REGENERATE}`);
    }
    const generated: unknown = JSON.parse(JSON.stringify(toGrafana(dashboard)));
    expect(committed, `dashboards/${file} is out of date with the definition of '${dashboard.uid}'; regenerate it with: ${REGENERATE}`).toEqual(generated);
  });

  it('every dashboards/*.json has a definition (no hand-written JSON)', () => {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(files, `JSON without a definition in dashboards/registry.ts; add one and run: ${REGENERATE}`).toEqual(dashboards.map(dashboardFileName).sort());
  });

  it('uids are unique', () => {
    expect(new Set(dashboards.map((d) => d.uid)).size).toBe(dashboards.length);
  });
});

describe('defineDashboard', () => {
  const panel = { title: 'Events', type: 'stat', sql: 'SELECT count() AS events FROM t', width: 6, height: 4 } as const;

  it('numbers the panels, lays them out in rows and fills defaults', () => {
    const d = defineDashboard({
      uid: 'd',
      title: 'D',
      panels: [
        panel,
        { ...panel, title: 'B', width: 18 },
        { title: 'Series', type: 'timeseries', sql: 'SELECT t AS time, v FROM x', width: 12, height: 8 },
        { ...panel, title: 'C', sparkline: true, height: 6 },
        { title: 'Wide', type: 'table', sql: 'SELECT 1 AS one', width: 24, height: 5 },
      ],
    });
    expect(d.panels.map(({ id, title, format, gridPos: { x, y, w, h } }) => `${id} ${title} ${format} @${x},${y} ${w}x${h}`)).toEqual([
      '1 Events table @0,0 6x4',
      '2 B table @6,0 18x4',
      '3 Series timeSeries @0,4 12x8',
      '4 C timeSeries @12,4 6x6',
      '5 Wide table @0,12 24x5',
    ]);
    expect({ refresh: d.refresh, refreshMs: d.refreshMs, timeRange: d.timeRange }).toEqual({ refresh: '5s', refreshMs: 5_000, timeRange: 'now-30m' });
  });

  it.each([
    ['a panel wider than the grid', { panels: [{ ...panel, width: 25 }] }, 'panels[0].width'],
    ['a duplicate title', { panels: [panel, panel] }, 'duplicate panel title "Events"'],
    ['a FORMAT clause', { panels: [{ ...panel, sql: 'SELECT 1 FORMAT JSON' }] }, 'without FORMAT'],
    ['an unknown option', { panels: [{ ...panel, colour: 'red' }] }, 'colour'],
    ['a time range the live page cannot pick', { timeRange: 'now-2h', panels: [panel] }, 'timeRange'],
    ['a barchart without xField', { panels: [{ ...panel, type: 'barchart' }] }, 'xField'],
  ])('rejects %s', (_what, input, message) => {
    expect(() => defineDashboard({ uid: 'd', title: 'D', ...(input as { panels: [] }) })).toThrow(message);
  });

  it('types: each panel type takes its own options', () => {
    const base = { title: 'T', sql: 'SELECT 1 AS x', width: 6, height: 4 } as const;
    // @ts-expect-error a bar chart needs xField
    expect(() => defineDashboard({ uid: 'd', title: 'D', panels: [{ ...base, type: 'barchart' }] })).toThrow('xField');
    // @ts-expect-error a table has no line style
    expect(() => defineDashboard({ uid: 'd', title: 'D', panels: [{ ...base, type: 'table', style: 'bars' }] })).toThrow('style');
    // @ts-expect-error units are a closed list
    expect(() => defineDashboard({ uid: 'd', title: 'D', panels: [{ ...base, type: 'stat', unit: 'bytes' }] })).toThrow('unit');
  });

  it('generates Grafana JSON the model accepts, with the query format each panel type needs', () => {
    const json = toGrafana(
      defineDashboard({ uid: 'd', title: 'D', panels: [panel, { title: 'S', type: 'timeseries', sql: 'SELECT t AS time, v FROM x', width: 6, height: 4 }] }),
    );
    expect(json.panels.map((p) => p.targets.map((t) => [t.format, t.queryType, t.datasource.uid]))).toEqual([
      [[1, 'table', 'clickhouse']],
      [[0, 'timeSeries', 'clickhouse']],
    ]);
  });

  it('layout wraps when a panel does not fit and rows are as tall as their tallest panel', () => {
    expect(
      layout([
        { width: 20, height: 3 },
        { width: 4, height: 5 },
        { width: 1, height: 1 },
      ]),
    ).toEqual([
      { x: 0, y: 0, w: 20, h: 3 },
      { x: 20, y: 0, w: 4, h: 5 },
      { x: 0, y: 5, w: 1, h: 1 },
    ]);
  });

  it('durations', () => {
    expect([durationMs('5s'), durationMs('1m'), durationMs('now-6h'), durationMs('now-24h')]).toEqual([5_000, 60_000, 21_600_000, 86_400_000]);
    expect(() => durationMs('soon')).toThrow('not a duration');
  });
});

describe('sql``', () => {
  it('drops the common indentation and the blank first and last lines', () => {
    expect(sql`
      SELECT a
      FROM
      (
          SELECT 1 AS a
      )
    `).toBe('SELECT a\nFROM\n(\n    SELECT 1 AS a\n)');
  });

  it('names a table by its definition', () => {
    expect(sql`
      SELECT count() AS n
      FROM ${eventsTable} FINAL
      WHERE session_id IN (SELECT session_id FROM ${sessionsTable})
    `).toBe('SELECT count() AS n\nFROM clickstream_events FINAL\nWHERE session_id IN (SELECT session_id FROM clickstream_sessions)');
  });

  it('refuses anything but a table definition with an identifier name', () => {
    const values: unknown[] = ['clickstream_events; DROP TABLE x', 1, null, { name: 'a b' }, { name: 'x`y' }, {}];
    for (const value of values) expect(() => sql`SELECT 1 FROM ${value as { name: string }}`).toThrow('takes a table definition');
  });
});
