import { z } from 'zod';
import { GRID_COLUMNS } from './grafana-model.ts';

/**
 * One typed definition per dashboard, declared by a pipeline (`definePipeline({ dashboards })`) or
 * built in (pipeline health). `to-grafana.ts` turns it into Grafana JSON (`rxa dashboards`, and the
 * files committed in `dashboards/`) and `live/server.ts` serves the same panels, same SQL, on the
 * built-in live page. The SQL may use `$__timeFilter(col)`, `$__fromTime` and
 * `$__toTime` (see macros.ts) and must run on ClickHouse 18.16 and current releases.
 *
 * Layout: panels flow left to right on Grafana's 24-column grid, a new row starting when the next
 * panel does not fit; a row is as tall as its tallest panel.
 *
 * @example
 * ```ts
 * export const ordersDashboard = defineDashboard({
 *   uid: 'orders', title: 'Orders', refresh: '5s', timeRange: 'now-30m',
 *   panels: [{ title: 'Orders', type: 'stat', sql: sql`SELECT count() AS orders FROM ${orders} FINAL WHERE $__timeFilter(ts)`, width: 6, height: 4 }],
 * });
 * ```
 */

/** Display units understood by Grafana and by the live page. */
export const units = ['none', 'short', 's', 'ms', 'percent', 'currencyUSD'] as const;
export type Unit = (typeof units)[number];

/** Time ranges the live page's picker offers; a dashboard's default must be one of them. */
export const timeRanges = ['now-5m', 'now-15m', 'now-30m', 'now-1h', 'now-6h', 'now-24h'] as const;
export type TimeRangeName = (typeof timeRanges)[number];

const color = z.string().regex(/^[a-z]+(-[a-z]+)?$|^#[0-9a-fA-F]{6}$/, 'a Grafana color name like "green" or "#1f77b4"');

/** Per-column display options (Grafana field overrides by name). */
const ColumnOptions = z
  .object({
    unit: z.enum(units).optional(),
    decimals: z.number().int().min(0).max(6).optional(),
    /** Table cell drawn as a gauge bar. */
    gauge: z.boolean().optional(),
    /** Table cell text (and colour) for raw values, e.g. `{ 0: { text: 'no' }, 1: { text: 'yes', color: 'green' } }`. */
    valueText: z.record(z.string(), z.object({ text: z.string(), color: color.optional() }).strict()).optional(),
  })
  .strict();

const common = {
  title: z.string().min(1),
  description: z.string().optional(),
  /** One SELECT, no FORMAT clause, no trailing semicolon. */
  sql: z
    .string()
    .trim()
    .min(1)
    .refine((s) => !/;\s*$/.test(s) && !/\bFORMAT\s+\w+\s*$/i.test(s), 'one SELECT without FORMAT or a trailing semicolon'),
  /** Grid columns (of 24) and rows (about 30 px each). */
  width: z.number().int().min(1).max(GRID_COLUMNS),
  height: z.number().int().min(2).max(40),
  unit: z.enum(units).optional(),
  decimals: z.number().int().min(0).max(6).optional(),
  columns: z.record(z.string(), ColumnOptions).default({}),
};

const TimeSeriesPanel = z
  .object({
    ...common,
    /** The SQL returns `time` (DateTime) first, ordered by it; string columns split series. */
    type: z.literal('timeseries'),
    style: z.enum(['line', 'bars']).default('line'),
    stacked: z.boolean().default(false),
  })
  .strict();

const StatPanel = z
  .object({
    ...common,
    /**
     * Every numeric column of the first row is a big number. With `sparkline`, the SQL is a time
     * series instead (`time` first): the numbers are the last values, the line shows the range.
     */
    type: z.literal('stat'),
    sparkline: z.boolean().default(false),
    color: color.default('green'),
    /** Colours from a value up, e.g. `[{ value: 1, color: 'red' }]` turns the number red from 1. */
    thresholds: z.array(z.object({ value: z.number(), color }).strict()).default([]),
  })
  .strict();

const TablePanel = z.object({ ...common, type: z.literal('table') }).strict();

const BarChartPanel = z
  .object({
    ...common,
    /** One bar group per row, labelled by `xField`; every numeric column is a bar. */
    type: z.literal('barchart'),
    xField: z.string().min(1),
    orientation: z.enum(['horizontal', 'vertical']).default('horizontal'),
    /** Print every bar's value (Grafana `showValue: always`) instead of only when there is room. */
    showValues: z.boolean().default(false),
  })
  .strict();

export const PanelDefinition = z.discriminatedUnion('type', [TimeSeriesPanel, StatPanel, TablePanel, BarChartPanel]);

export const DashboardDefinition = z
  .object({
    uid: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'uid: at most 40 letters, digits, - and _'),
    title: z.string().min(1),
    description: z.string().optional(),
    tags: z.array(z.string().min(1)).default([]),
    /** Grafana's auto-refresh and the live page's polling interval. */
    refresh: z
      .string()
      .regex(/^\d+[sm]$/, 'refresh like "5s" or "1m"')
      .default('5s'),
    timeRange: z.enum(timeRanges).default('now-30m'),
    panels: z.array(PanelDefinition).min(1),
  })
  .strict()
  .superRefine((d, ctx) => {
    const titles = new Set<string>();
    d.panels.forEach((p, i) => {
      if (titles.has(p.title)) ctx.addIssue({ code: 'custom', message: `duplicate panel title "${p.title}"`, path: ['panels', i, 'title'] });
      titles.add(p.title);
    });
  });

export type DashboardInput = z.input<typeof DashboardDefinition>;
export type PanelInput = z.input<typeof PanelDefinition>;
export type ColumnDisplay = z.output<typeof ColumnOptions>;

export interface GridPosition {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A panel with its defaults filled in, its id (1, 2, ... in order) and its place on the grid. */
export type Panel = z.output<typeof PanelDefinition> & {
  id: number;
  gridPos: GridPosition;
  /** How the result is shaped: a time series (`time` first) or a table. */
  format: 'timeSeries' | 'table';
};

export type Dashboard = Omit<z.output<typeof DashboardDefinition>, 'panels'> & {
  panels: Panel[];
  refreshMs: number;
};

/** Validate a dashboard definition, fill defaults, number the panels and lay them out. */
export function defineDashboard(input: DashboardInput): Dashboard {
  const result = DashboardDefinition.safeParse(input);
  if (!result.success) throw new Error(`invalid dashboard '${input.uid}':\n${z.prettifyError(result.error)}`);
  const definition = result.data;
  const positions = layout(definition.panels);
  const panels = definition.panels.map((panel, i): Panel => {
    const timeSeries = panel.type === 'timeseries' || (panel.type === 'stat' && panel.sparkline);
    return { ...panel, id: i + 1, gridPos: positions[i]!, format: timeSeries ? 'timeSeries' : 'table' };
  });
  return { ...definition, panels, refreshMs: durationMs(definition.refresh) };
}

/** Row-flow layout: left to right, wrapping when a panel does not fit in what is left of the row. */
export function layout(panels: ReadonlyArray<{ width: number; height: number }>): GridPosition[] {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return panels.map(({ width, height }) => {
    if (x + width > GRID_COLUMNS) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const position = { x, y, w: width, h: height };
    x += width;
    rowHeight = Math.max(rowHeight, height);
    return position;
  });
}

/** '5s' → 5000, '1m' → 60000, 'now-30m' → 1800000. */
export function durationMs(text: string): number {
  const match = /^(?:now-)?(\d+)([smhd])$/.exec(text);
  if (!match) throw new Error(`not a duration: '${text}'`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
