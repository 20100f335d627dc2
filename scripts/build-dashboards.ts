/**
 * Writes the Grafana JSON of every dashboard definition (dashboards/registry.ts) to
 * dashboards/<name>.json. dashboards/definitions.test.ts fails when a committed file differs.
 *
 *   npx tsx scripts/build-dashboards.ts
 */
import { writeFile } from 'node:fs/promises';
import { dashboardFileName, dashboards, formatDashboardJson } from '../dashboards/registry.ts';
import { toGrafana } from '../dashboards/to-grafana.ts';

const dir = new URL('../dashboards/', import.meta.url);
for (const dashboard of dashboards) {
  const file = new URL(dashboardFileName(dashboard), dir);
  await writeFile(file, formatDashboardJson(toGrafana(dashboard)));
  console.log(`wrote dashboards/${dashboardFileName(dashboard)} (${dashboard.panels.length} panels)`);
}
