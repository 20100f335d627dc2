import { z } from 'zod';
import type { ColumnDisplay, Dashboard, Panel } from './definition.ts';
import { CLICKHOUSE_DATASOURCE_TYPE, type GrafanaDashboard, grafanaDashboard, QueryFormat } from './grafana-model.ts';

/**
 * A dashboard definition as Grafana dashboard JSON (schemaVersion 39), every panel querying
 * ClickHouse through the grafana-clickhouse-datasource plugin with the provisioned data source
 * (uid `clickhouse`, grafana/provisioning/datasources). The result is checked against
 * grafana-model.ts before it is returned.
 */

export const DATASOURCE = { type: CLICKHOUSE_DATASOURCE_TYPE, uid: 'clickhouse' } as const;

const SCHEMA_VERSION = 39;

export function toGrafana(dashboard: Dashboard): GrafanaDashboard {
  const json = {
    uid: dashboard.uid,
    title: dashboard.title,
    ...(dashboard.description ? { description: dashboard.description } : {}),
    tags: dashboard.tags,
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    editable: true,
    graphTooltip: 1,
    timezone: 'browser',
    refresh: dashboard.refresh,
    time: { from: dashboard.timeRange, to: 'now' },
    timepicker: { refresh_intervals: ['5s', '10s', '30s', '1m', '5m'] },
    fiscalYearStartMonth: 0,
    liveNow: false,
    links: [],
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    templating: { list: [] },
    panels: dashboard.panels.map(grafanaPanel),
  };
  const result = grafanaDashboard.safeParse(json);
  if (!result.success) throw new Error(`dashboard '${dashboard.uid}' makes invalid Grafana JSON:\n${z.prettifyError(result.error)}`);
  // The input, not result.data: parsing moves the checked keys first, and the file should read in Grafana's order.
  return json as unknown as GrafanaDashboard; // validated just above
}

function grafanaPanel(panel: Panel): Record<string, unknown> {
  const { fieldConfig, options } = display(panel);
  return {
    id: panel.id,
    type: panel.type,
    title: panel.title,
    ...(panel.description ? { description: panel.description } : {}),
    datasource: DATASOURCE,
    gridPos: panel.gridPos,
    fieldConfig,
    options,
    targets: [
      {
        refId: 'A',
        datasource: DATASOURCE,
        editorType: 'sql',
        format: QueryFormat[panel.format],
        queryType: panel.format,
        rawSql: panel.sql,
      },
    ],
  };
}

/** Grafana's fieldConfig and options for each panel type, from the definition's display fields. */
function display(panel: Panel): { fieldConfig: Record<string, unknown>; options: Record<string, unknown> } {
  const numbers = { ...(panel.unit ? { unit: panel.unit } : {}), ...(panel.decimals !== undefined ? { decimals: panel.decimals } : {}) };
  const overrides = Object.entries(panel.columns).map(([name, column]) => override(name, column));
  const legend = (showLegend: boolean) => ({ displayMode: 'list', placement: 'bottom', showLegend });
  switch (panel.type) {
    case 'stat':
      return {
        fieldConfig: {
          defaults: {
            ...numbers,
            color: { mode: 'thresholds' },
            thresholds: {
              mode: 'absolute',
              steps: [{ color: panel.color, value: null }, ...panel.thresholds.map((t) => ({ color: t.color, value: t.value }))],
            },
          },
          overrides,
        },
        options: {
          reduceOptions: { values: false, calcs: ['lastNotNull'], fields: '' },
          colorMode: 'value',
          graphMode: panel.sparkline ? 'area' : 'none',
          justifyMode: 'auto',
          textMode: 'auto',
          orientation: 'auto',
        },
      };
    case 'timeseries':
      return {
        fieldConfig: {
          defaults: {
            ...numbers,
            color: { mode: 'palette-classic' },
            custom: {
              drawStyle: panel.style,
              lineWidth: 2,
              fillOpacity: panel.style === 'bars' ? 60 : 10,
              showPoints: 'never',
              spanNulls: false,
              ...(panel.stacked ? { stacking: { mode: 'normal', group: 'A' } } : {}),
            },
          },
          overrides,
        },
        options: { legend: legend(true), tooltip: { mode: 'multi', sort: 'desc' } },
      };
    case 'barchart':
      return {
        fieldConfig: { defaults: { ...numbers, color: { mode: 'palette-classic' } }, overrides },
        options: {
          xField: panel.xField,
          orientation: panel.orientation,
          showValue: panel.showValues ? 'always' : 'auto',
          barWidth: 0.8,
          groupWidth: 0.7,
          stacking: 'none',
          legend: legend(false),
          tooltip: { mode: 'single', sort: 'none' },
        },
      };
    case 'table':
      return {
        fieldConfig: { defaults: { ...numbers, custom: { align: 'auto' } }, overrides },
        options: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' } },
      };
  }
}

function override(name: string, column: ColumnDisplay): Record<string, unknown> {
  const properties: Array<{ id: string; value: unknown }> = [];
  if (column.unit) properties.push({ id: 'unit', value: column.unit });
  if (column.decimals !== undefined) properties.push({ id: 'decimals', value: column.decimals });
  if (column.valueText) {
    const options = Object.fromEntries(
      Object.entries(column.valueText).map(([value, { text, color }], index) => [value, { text, ...(color ? { color } : {}), index }]),
    );
    properties.push({ id: 'mappings', value: [{ type: 'value', options }] });
    if (Object.values(column.valueText).some((v) => v.color)) properties.push({ id: 'custom.cellOptions', value: { type: 'color-text' } });
  }
  if (column.gauge) properties.push({ id: 'custom.cellOptions', value: { type: 'gauge', mode: 'basic' } });
  return { matcher: { id: 'byName', options: name }, properties };
}
