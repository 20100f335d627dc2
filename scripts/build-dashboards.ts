/**
 * Writes the Grafana JSON of every committed dashboard (dashboards/registry.ts: the clickstream
 * pipeline's and pipeline health) to dashboards/<name>.json, as `rxa dashboards` does for any
 * pipeline. dashboards/definitions.test.ts fails when a committed file differs.
 *
 *   npx tsx scripts/build-dashboards.ts
 */
import { fileURLToPath } from 'node:url';
import { writeGrafanaDashboards } from '../dashboards/grafana-files.ts';
import { dashboards } from '../dashboards/registry.ts';

const dir = fileURLToPath(new URL('../dashboards/', import.meta.url));
const files = await writeGrafanaDashboards(dashboards, dir);
for (const [i, dashboard] of dashboards.entries()) console.log(`wrote ${files[i]} (${dashboard.panels.length} panels)`);
