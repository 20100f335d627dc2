import { readFile } from 'node:fs/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { type GrafanaDashboard, grafanaDashboard, QueryFormat } from './grafana-model.ts';
import { expandMacros, type TimeRange } from './macros.ts';

/**
 * Runs every panel query of a dashboard against a ClickHouse, macros expanded the way the Grafana
 * plugin expands them, and checks what Grafana needs of the result: time series queries
 * (`format: 0`) return a DateTime column named `time` first, in ascending order.
 *
 * Works on any data: the dashboard test runs it on a handful of rows, and the same call can check
 * the dashboards against the tables a real pipeline run has filled.
 */

export interface QueryColumn {
  name: string;
  type: string;
}

export interface QueryResult {
  columns: QueryColumn[];
  rows: unknown[][];
}

/** Runs one SELECT (no FORMAT clause) and returns its columns and rows. */
export type QueryExecutor = (sql: string) => Promise<QueryResult>;

export interface PanelQueryResult {
  /** The panel's title. */
  panel: string;
  refId: string;
  rows: number;
  columns: string[];
}

/** ClickHouse's `FORMAT JSONCompact` output, the same on 18.16 and current releases. */
const jsonCompact = z.object({
  meta: z.array(z.object({ name: z.string(), type: z.string() })),
  data: z.array(z.array(z.unknown())),
});

/** Parse a `FORMAT JSONCompact` response body (from any client: HTTP, chdb...). */
export function parseJsonCompact(body: unknown): QueryResult {
  const { meta, data } = jsonCompact.parse(typeof body === 'string' ? JSON.parse(body) : body);
  return { columns: meta, rows: data };
}

/** Read and validate a dashboard JSON file. */
export async function loadDashboard(path: string): Promise<GrafanaDashboard> {
  const text = await readFile(path, 'utf8');
  const result = grafanaDashboard.safeParse(JSON.parse(text));
  if (!result.success) throw new Error(`${path} is not a valid dashboard:\n${z.prettifyError(result.error)}`);
  return result.data;
}

/** Run every target of every panel with `execute`; fails on the first query that errors or is misshapen. */
export async function runDashboardQueries(dashboard: GrafanaDashboard, range: TimeRange, execute: QueryExecutor): Promise<PanelQueryResult[]> {
  const results: PanelQueryResult[] = [];
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) {
      const where = `panel "${panel.title}" (${target.refId})`;
      const sql = expandMacros(target.rawSql, range);
      let result: QueryResult;
      try {
        result = await execute(sql);
      } catch (error) {
        throw new Error(`${where} failed: ${error instanceof Error ? error.message : String(error)}\n--- SQL ---\n${sql}`, { cause: error });
      }
      if (target.format === QueryFormat.timeSeries) checkTimeSeries(result, where);
      results.push({ panel: panel.title, refId: target.refId, rows: result.rows.length, columns: result.columns.map((c) => c.name) });
    }
  }
  return results;
}

/**
 * Run every panel query of the dashboard at `dashboardPath` on `client`. Queries name tables
 * without a database, so create the client with `database` set to the one to check.
 * `range` is epoch milliseconds, like Grafana's time picker.
 */
export async function runPanelQueries(client: ClickHouseClient, dashboardPath: string, range: TimeRange): Promise<PanelQueryResult[]> {
  const dashboard = await loadDashboard(dashboardPath);
  return runDashboardQueries(dashboard, range, async (sql) => {
    const response = await client.query({ query: sql, format: 'JSONCompact' });
    return parseJsonCompact(await response.json());
  });
}

const DATE_TIME = /^DateTime(\(.*\))?$/;

function checkTimeSeries(result: QueryResult, where: string): void {
  const first = result.columns[0];
  if (first?.name !== 'time' || !DATE_TIME.test(first.type)) {
    throw new Error(
      `${where}: a time series query must return a DateTime column named "time" first, got ${first ? `${first.name} ${first.type}` : 'no columns'}`,
    );
  }
  // DateTime comes as 'YYYY-MM-DD hh:mm:ss' (or a number with some settings); both order naturally.
  for (let i = 1; i < result.rows.length; i++) {
    const previous = result.rows[i - 1]?.[0];
    const current = result.rows[i]?.[0];
    const ordered =
      (typeof previous === 'string' && typeof current === 'string' && previous <= current) ||
      (typeof previous === 'number' && typeof current === 'number' && previous <= current);
    if (!ordered) {
      throw new Error(`${where}: rows must be ordered by time (row ${i}: ${String(current)} after ${String(previous)})`);
    }
  }
}
