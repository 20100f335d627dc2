import type { PipelineDefinition } from '../core/pipeline.ts';
import { writeGrafanaDashboards } from '../dashboards/grafana-files.ts';
import { dashboardsOf } from '../dashboards/pipeline-dashboards.ts';

/**
 * `rxa dashboards <pipeline> --out <dir>`: the Grafana JSON of the pipeline's dashboards
 * (`definePipeline({ dashboards })`) and of pipeline health, one `<name>.json` each, ready for
 * Grafana's file provisioning or import (grafana-clickhouse-datasource). Gives the paths written.
 */
export function writePipelineDashboards(definition: PipelineDefinition, dir: string): Promise<string[]> {
  return writeGrafanaDashboards(dashboardsOf(definition), dir);
}
