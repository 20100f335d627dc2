import type { PipelineDashboard } from '../index.ts';
import type { Dashboard } from './definition.ts';
import { pipelineHealthDashboard } from './pipeline-health.dashboard.ts';

/** Dashboards every pipeline gets besides its own: pipeline health (rxa_pipeline_metrics). */
export const builtInDashboards: readonly Dashboard[] = [pipelineHealthDashboard];

/**
 * A pipeline's dashboards as the live page and the Grafana generator show them: its own
 * (`definePipeline({ dashboards })`, in order), then pipeline health. A uid taken twice is an error.
 */
export function dashboardsOf(pipeline: { readonly name: string; readonly dashboards?: readonly PipelineDashboard[] | undefined }): Dashboard[] {
  const own = (pipeline.dashboards ?? []).map((d) => asDashboard(d, pipeline.name));
  const all = [...own, ...builtInDashboards];
  const seen = new Set<string>();
  for (const { uid } of all) {
    if (seen.has(uid)) throw new Error(`pipeline ${pipeline.name}: two dashboards with uid '${uid}' (pipeline health is '${pipelineHealthDashboard.uid}')`);
    seen.add(uid);
  }
  return all;
}

/** What defineDashboard returns: numbered, laid-out panels with their display format. */
function asDashboard(value: PipelineDashboard, pipeline: string): Dashboard {
  const laidOut = value.panels.every((p) => typeof (p as { gridPos?: unknown }).gridPos === 'object' && typeof (p as { format?: unknown }).format === 'string');
  if (!laidOut || typeof (value as { refreshMs?: unknown }).refreshMs !== 'number') {
    throw new Error(`pipeline ${pipeline}: dashboard '${value.uid}' is not a defineDashboard(...) result`);
  }
  return value as unknown as Dashboard;
}
