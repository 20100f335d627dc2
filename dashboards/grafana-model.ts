import { z } from 'zod';

/**
 * The parts of Grafana's dashboard JSON model (schemaVersion 39) that our dashboards rely on, for
 * dashboards whose panels query ClickHouse through the grafana-clickhouse-datasource plugin (v4).
 * Everything else Grafana stores (fieldConfig, options, annotations...) passes through unchecked.
 *
 * The target fields follow the plugin's query model: `editorType: 'sql'`, the SQL in `rawSql`,
 * `queryType` 'table' | 'timeSeries' (the editor's choice) and `format`, the number the backend acts
 * on: 0 = time series (long frames are pivoted to one series per string column), 1 = table.
 */

export const CLICKHOUSE_DATASOURCE_TYPE = 'grafana-clickhouse-datasource';
export const GRID_COLUMNS = 24;

/** Panel types our dashboards use; anything else is probably a typo. */
export const panelTypes = ['timeseries', 'stat', 'table', 'barchart', 'bargauge', 'gauge', 'piechart', 'text'] as const;

/** The plugin's `format`: how the backend shapes the result. */
export const QueryFormat = { timeSeries: 0, table: 1 } as const;

export const clickhouseDatasourceRef = z.object({
  type: z.literal(CLICKHOUSE_DATASOURCE_TYPE),
  uid: z.string().min(1),
});

export const clickhouseTarget = z
  .looseObject({
    refId: z.string().regex(/^[A-Z]$|^[A-Za-z][A-Za-z0-9_-]*$/, 'refId must be a short name like "A"'),
    datasource: clickhouseDatasourceRef,
    editorType: z.literal('sql'),
    format: z.union([z.literal(QueryFormat.timeSeries), z.literal(QueryFormat.table)]),
    queryType: z.enum(['table', 'timeSeries']),
    rawSql: z.string().trim().min(1, 'rawSql must not be empty'),
  })
  .refine((t) => (t.format === QueryFormat.timeSeries) === (t.queryType === 'timeSeries'), {
    message: "format 0 goes with queryType 'timeSeries', format 1 with 'table'",
    path: ['queryType'],
  });

export const gridPos = z
  .object({
    x: z
      .number()
      .int()
      .min(0)
      .max(GRID_COLUMNS - 1),
    y: z.number().int().min(0),
    w: z.number().int().min(1).max(GRID_COLUMNS),
    h: z.number().int().min(1),
  })
  .refine((g) => g.x + g.w <= GRID_COLUMNS, { message: `x + w must be at most ${GRID_COLUMNS}` });

export const queryPanel = z.looseObject({
  id: z.number().int().positive(),
  type: z.enum(panelTypes),
  title: z.string().min(1),
  gridPos,
  datasource: clickhouseDatasourceRef,
  targets: z.array(clickhouseTarget).min(1),
});

export const grafanaDashboard = z
  .looseObject({
    uid: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'uid: at most 40 letters, digits, - and _'),
    title: z.string().min(1),
    schemaVersion: z.number().int().min(36),
    refresh: z.union([z.literal(''), z.string().regex(/^\d+[smhd]$/, 'refresh like "5s" or "1m"')]),
    time: z.object({ from: z.string().min(1), to: z.string().min(1) }),
    panels: z.array(queryPanel).min(1),
  })
  .superRefine((dashboard, ctx) => {
    const seen = new Set<number>();
    dashboard.panels.forEach((panel, i) => {
      if (seen.has(panel.id)) ctx.addIssue({ code: 'custom', message: `duplicate panel id ${panel.id}`, path: ['panels', i, 'id'] });
      seen.add(panel.id);
      const refIds = new Set<string>();
      panel.targets.forEach((target, j) => {
        if (refIds.has(target.refId)) {
          ctx.addIssue({ code: 'custom', message: `duplicate refId ${target.refId}`, path: ['panels', i, 'targets', j, 'refId'] });
        }
        refIds.add(target.refId);
      });
      dashboard.panels.slice(0, i).forEach((other) => {
        if (overlaps(panel.gridPos, other.gridPos)) {
          ctx.addIssue({ code: 'custom', message: `panel "${panel.title}" overlaps panel "${other.title}"`, path: ['panels', i, 'gridPos'] });
        }
      });
    });
  });

export type ClickHouseTarget = z.infer<typeof clickhouseTarget>;
export type GridPos = z.infer<typeof gridPos>;
export type QueryPanel = z.infer<typeof queryPanel>;
export type GrafanaDashboard = z.infer<typeof grafanaDashboard>;

function overlaps(a: GridPos, b: GridPos): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}
