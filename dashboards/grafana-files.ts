import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dashboard } from './definition.ts';
import { toGrafana } from './to-grafana.ts';

/** A dashboard's Grafana JSON file name: its uid without the `rxa-` prefix. */
export function dashboardFileName(dashboard: Pick<Dashboard, 'uid'>): string {
  return `${dashboard.uid.replace(/^rxa-/, '')}.json`;
}

/** Grafana JSON as committed: two-space indent, trailing newline. */
export function formatDashboardJson(json: unknown): string {
  return `${JSON.stringify(json, null, 2)}\n`;
}

/**
 * Write each dashboard's Grafana JSON to `dir/<name>.json` (created if missing), for Grafana's file
 * provisioning or its import: `rxa dashboards` and scripts/build-dashboards.ts. Gives the paths written.
 */
export async function writeGrafanaDashboards(dashboards: readonly Dashboard[], dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const dashboard of dashboards) {
    const file = join(dir, dashboardFileName(dashboard));
    await writeFile(file, formatDashboardJson(toGrafana(dashboard)));
    files.push(file);
  }
  return files;
}
