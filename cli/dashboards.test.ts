/**
 * `rxa dashboards <pipeline> --out <dir>`: a user's pipeline (test/fixtures/orders-pipeline.ts)
 * declares its dashboard; the command writes it and pipeline health as Grafana JSON that the
 * checks of test/dashboards.test.ts accept.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPipeline } from '../core/load-pipeline.ts';
import { definePipeline } from '../core/pipeline.ts';
import { defineDashboard } from '../dashboards/definition.ts';
import { expandMacros } from '../dashboards/macros.ts';
import { dashboardsOf } from '../dashboards/pipeline-dashboards.ts';
import { pipelineHealthDashboard } from '../dashboards/pipeline-health.dashboard.ts';
import { loadDashboard } from '../dashboards/run-panel-queries.ts';
import orders from '../test/fixtures/orders-pipeline.ts';
import { writePipelineDashboards } from './dashboards.ts';

const FIXTURE = 'test/fixtures/orders-pipeline.ts';
const dirs: string[] = [];
const tempDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'rxa-dashboards-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function expectOrdersDashboards(dir: string): Promise<void> {
  expect((await readdir(dir)).sort()).toEqual(['orders.json', 'pipeline-health.json']);
  const dashboard = await loadDashboard(join(dir, 'orders.json'));
  expect(dashboard).toMatchObject({ uid: 'orders', title: 'Orders' });
  const targets = dashboard.panels.flatMap((p) => p.targets);
  expect(targets).toHaveLength(2);
  for (const target of targets) {
    // The table definition, by its name; the macros expand as the plugin expands them.
    expect(target.rawSql).toContain('FROM product_revenue_5m_current');
    expect(expandMacros(target.rawSql, { from: 0, to: 60_000 })).toContain('window_start >= toDateTime(0) AND window_start <= toDateTime(60)');
  }
  await loadDashboard(join(dir, 'pipeline-health.json'));
}

describe('rxa dashboards', () => {
  it("writes the pipeline's dashboards and pipeline health as valid Grafana JSON", async () => {
    const dir = join(await tempDir(), 'grafana', 'dashboards');
    const written = await writePipelineDashboards(await loadPipeline(FIXTURE), dir);
    expect(written.map((f) => f.slice(dir.length + 1))).toEqual(['orders.json', 'pipeline-health.json']);
    await expectOrdersDashboards(dir);
  });

  it('runs as a command of the compiled rxa', async () => {
    const dir = await tempDir();
    const { stdout } = await promisify(execFile)(process.execPath, ['bin/rxa.js', 'dashboards', FIXTURE, '--out', dir], { env: process.env });
    expect(stdout).toContain(`wrote ${join(dir, 'orders.json')}`);
    await expectOrdersDashboards(dir);
  }, 120_000);
});

describe("a pipeline's dashboards", () => {
  it('come first, pipeline health after them', () => {
    expect(dashboardsOf(orders).map((d) => d.uid)).toEqual(['orders', 'rxa-pipeline-health']);
    expect(dashboardsOf({ name: 'bare' })).toEqual([pipelineHealthDashboard]);
  });

  it('refuses a uid taken twice and what defineDashboard did not make', () => {
    const health = defineDashboard({
      uid: pipelineHealthDashboard.uid,
      title: 'Mine',
      panels: [{ title: 'n', type: 'stat', sql: 'SELECT 1 AS n', width: 4, height: 4 }],
    });
    expect(() => dashboardsOf({ name: 'p', dashboards: [health] })).toThrow("two dashboards with uid 'rxa-pipeline-health'");
    const raw = { uid: 'raw', title: 'Raw', panels: [{ id: 1, sql: 'SELECT 1' }] };
    expect(() => dashboardsOf({ name: 'p', dashboards: [raw] })).toThrow("dashboard 'raw' is not a defineDashboard(...) result");
    const [own] = orders.dashboards ?? [];
    expect(() => definePipeline({ ...orders, dashboards: [own!, own!] })).toThrow("two dashboards with uid 'orders'");
  });
});
