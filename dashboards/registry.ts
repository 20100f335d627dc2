import clickstream from '../pipelines/clickstream.ts';
import type { Dashboard } from './definition.ts';
import { dashboardsOf } from './pipeline-dashboards.ts';

/**
 * The dashboards committed as Grafana JSON in `dashboards/` (provisioned by docker-compose;
 * scripts/build-dashboards.ts): the clickstream pipeline's, as it declares them, and pipeline health.
 */
export const dashboards: readonly Dashboard[] = dashboardsOf(clickstream);
