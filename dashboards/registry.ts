import { clickstreamDashboard } from './clickstream.dashboard.ts';
import type { Dashboard } from './definition.ts';
import { pipelineHealthDashboard } from './pipeline-health.dashboard.ts';

/** Every dashboard: Grafana JSON is generated for each (scripts/build-dashboards.ts), the live page serves each. */
export const dashboards: readonly Dashboard[] = [clickstreamDashboard, pipelineHealthDashboard];

/** The committed Grafana JSON of a dashboard, in `dashboards/`: its uid without the `rxa-` prefix. */
export function dashboardFileName(dashboard: Pick<Dashboard, 'uid'>): string {
  return `${dashboard.uid.replace(/^rxa-/, '')}.json`;
}

/** Grafana JSON as committed: two-space indent, trailing newline. */
export function formatDashboardJson(json: unknown): string {
  return `${JSON.stringify(json, null, 2)}\n`;
}
