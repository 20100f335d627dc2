/**
 * The live page in a real browser (Debian's chromium via playwright-core, installed if missing),
 * while demo data flows: generator → JetStream → clickstream pipeline → ClickHouse → live server.
 * Every panel of both dashboards must render rows, a stat must grow between refreshes, and with
 * ClickHouse down or a failing query every panel must say so. Screenshots: test-output/.
 */
import { mkdirSync } from 'node:fs';
import type { ClickHouseClient } from '@clickhouse/client';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouseClient } from '../core/clickhouse-client.ts';
import { configFromEnv } from '../core/config.ts';
import { MetricsReporter } from '../core/metrics.ts';
import { type PipelineStatus, runPipeline } from '../core/runner.ts';
import { pipelineHealthDashboard } from '../dashboards/pipeline-health.dashboard.ts';
import { generateClickstream } from '../generator/clickstream.ts';
import type { GeneratedMessage } from '../generator/messages.ts';
import { partitionSubject, publishMessages } from '../generator/publish.ts';
import { clickstreamDashboard } from '../pipelines/clickstream.dashboard.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';
import { ensureStream } from '../sources/streams.ts';
import { dropTestResources, testId, waitFor } from '../test/support/helpers.ts';
import { openPage, type PanelState, panelStates, waitForPanels as waitForPanelsOn } from '../test/support/live-page.ts';
import { ensureChromium, launchChromium } from './chromium.ts';
import { type LiveServer, startLiveServer } from './server.ts';

const outputDir = new URL('../test-output/', import.meta.url);
const id = testId();
const names = { name: `live_${id}`, stream: `LIVE_${id}`, subjectPrefix: `live_${id}.events` };
const database = `rxa_live_${id}`;
const bucket = `rxa_ckpt_live_${id}`;
const config = configFromEnv(process.env, { clickhouse: { database }, checkpointBucket: bucket });

/** Event time runs at wall-clock speed; the backlog covers the 10 minutes before the test, so sessions have closed. */
const EVENTS_PER_SECOND = 50;
const BACKLOG_MS = 10 * 60_000;

let nc: NatsConnection;
let admin: ClickHouseClient;
let clickhouse: ClickHouseClient;
let browser: Browser;
let server: LiveServer;
let reporter: MetricsReporter;
let pipelineRun: Promise<PipelineStatus> | undefined;
let publishing: Promise<unknown> | undefined;
let lastStatus: PipelineStatus | undefined;
const stop = new AbortController();

beforeAll(async () => {
  ensureChromium();
  mkdirSync(outputDir, { recursive: true });
  nc = await connect({ servers: config.nats.servers });
  admin = createClickHouseClient(config.clickhouse);
  clickhouse = createClickHouseClient(config.clickhouse, database);
  browser = await launchChromium();

  // The pipeline, in-process, with its health metrics written every 2 s and served on /metrics.
  reporter = new MetricsReporter({ pipeline: names.name, clickhouse: { client: admin, database }, intervalMs: 2_000, onLog: (m) => console.warn(m) });
  await reporter.start();
  const pipeline = createClickstreamPipeline(names);
  pipelineRun = runPipeline(pipeline, {
    config,
    signal: stop.signal,
    statusIntervalMs: 500,
    onStatus: (status) => {
      lastStatus = status;
      reporter.update(status);
    },
  });

  // Demo data: 10 minutes of backlog as fast as possible, then live at the same rate, until the end.
  await ensureStream(await jetstreamManager(nc), { name: names.stream, subjects: [`${names.subjectPrefix}.>`] });
  const generated = generateClickstream({
    seed: 7,
    startTime: Date.now() - BACKLOG_MS,
    eventsPerSecond: EVENTS_PER_SECOND,
    users: 15_000,
    duplicateRate: 0.01,
    outOfOrderRate: 0.02,
    lateRate: 0.01,
    malformedRate: 0.05,
  });
  // Shared by both publish calls: publishMessages ends the iterator it is given, so hide `return`.
  const messages: Iterable<GeneratedMessage> = { [Symbol.iterator]: () => ({ next: () => generated.next() }) };
  const js = jetstream(nc);
  const subject = (m: GeneratedMessage, i: number) =>
    'event' in m ? partitionSubject(names.subjectPrefix, m.event.user_id, 4) : `${names.subjectPrefix}.${i % 4}`;
  await publishMessages(js, subject, messages, { count: (BACKLOG_MS / 1000) * EVENTS_PER_SECOND });
  publishing = publishMessages(js, subject, messages, { ratePerSecond: EVENTS_PER_SECOND, signal: stop.signal });

  server = await startLiveServer({ clickhouse, port: 0, metrics: reporter.registry });
}, 15 * 60_000);

afterAll(async () => {
  stop.abort();
  await Promise.allSettled([publishing, pipelineRun]);
  await reporter?.close();
  await server?.close();
  await browser?.close();
  if (nc && admin && !process.env.RXA_KEEP_TEST_DATA) {
    await dropTestResources({ nc, ch: admin, streams: [names.stream], buckets: [bucket], databases: [database], deadLetterPipelines: [names.name] });
  }
  await clickhouse?.close();
  await admin?.close();
  await nc?.close();
}, 120_000);

describe('live page in chromium', () => {
  it('renders every clickstream panel with data and refreshes live', async () => {
    const page = await openPage(browser, `${server.url}?dashboard=${clickstreamDashboard.uid}`);
    try {
      await waitForPanels(page, clickstreamDashboard.panels.length, (p) => p.state === 'ok' && p.rows > 0, 'every clickstream panel ok with rows', 180_000);
      const panels = await panelStates(page);
      expect(panels.map((p) => p.title)).toEqual(clickstreamDashboard.panels.map((p) => p.title));
      console.info(`clickstream: ${panels.length} panels rendered, rows: ${panels.map((p) => `${p.title}=${p.rows}`).join(', ')}`);

      // Charts are ECharts canvases, stats and tables HTML.
      expect(await page.locator('[data-panel-type="timeseries"] canvas').count()).toBeGreaterThanOrEqual(3);
      expect(await page.locator('[data-panel-type="barchart"] canvas').count()).toBe(2);
      expect(await page.locator('[data-panel-type="table"] tbody tr').count()).toBeGreaterThan(4);
      expect(await page.locator('#banner').isHidden()).toBe(true);

      // Dead letters keep arriving (5 % malformed input): the stat grows from one refresh to the next.
      const deadLetters = page.locator(`[data-panel-id="${panelId(clickstreamDashboard, 'Dead letters')}"] .stat-value`);
      const { before, after, refreshes } = await statAcrossRefreshes(page, deadLetters);
      console.info(`clickstream "Dead letters" stat: ${before} → ${after} after ${refreshes} refresh(es) of ${clickstreamDashboard.refresh}`);
      expect(after).toBeGreaterThan(before);

      await page.screenshot({ path: new URL('live-page.png', outputDir).pathname, fullPage: true });
    } finally {
      await page.close();
    }
  }, 300_000);

  it('renders the pipeline health dashboard from the metrics the pipeline writes', async () => {
    const page = await openPage(browser, `${server.url}?dashboard=${pipelineHealthDashboard.uid}&range=now-15m`);
    try {
      await waitForPanels(page, pipelineHealthDashboard.panels.length, (p) => p.state === 'ok' && p.rows > 0, 'every health panel ok with rows', 120_000);
      const eventsIn = page.locator(`[data-panel-id="${panelId(pipelineHealthDashboard, 'Events in')}"] .stat-value`);
      const { before, after, refreshes } = await statAcrossRefreshes(page, eventsIn);
      console.info(
        `pipeline health: ${pipelineHealthDashboard.panels.length} panels rendered; "Events in" ${before} → ${after} after ${refreshes} refresh(es); pipeline in ${lastStatus?.eventsIn}`,
      );
      expect(after).toBeGreaterThan(before);
      expect(await page.locator('#range').inputValue()).toBe('now-15m');

      const metrics = await (await fetch(new URL('metrics', server.url))).text();
      expect(metrics).toMatch(new RegExp(`^rxa_events_in_total\\{pipeline="${names.name}"\\} [1-9]\\d*$`, 'm'));
      expect(metrics).toMatch(/^rxa_watermark_delay_seconds\{stage="page-views",pipeline="[^"]+"\} \d/m);
      expect(metrics).toMatch(/^rxa_stage_events_total\{stage="validate",kind="invalid",pipeline="[^"]+"\} [1-9]/m);

      await page.screenshot({ path: new URL('live-health.png', outputDir).pathname, fullPage: true });
    } finally {
      await page.close();
    }
  }, 240_000);

  it('switches the time range from the picker', async () => {
    const page = await openPage(browser, `${server.url}?dashboard=${clickstreamDashboard.uid}`);
    try {
      await waitForPanels(page, clickstreamDashboard.panels.length, (p) => p.state !== 'loading', 'first load', 60_000);
      await page.selectOption('#range', 'now-5m');
      await waitFor(async () => new URL(page.url()).searchParams.get('range') === 'now-5m', 10_000, 'the range in the URL');
      await waitForPanels(page, clickstreamDashboard.panels.length, (p) => p.state === 'ok', 'reload with 5 minutes', 60_000);
    } finally {
      await page.close();
    }
  }, 120_000);

  it('shows on every panel that ClickHouse is down', async () => {
    const dead = createClient({ url: 'http://127.0.0.1:1', log: { level: ClickHouseLogLevel.OFF } });
    const deadServer = await startLiveServer({ clickhouse: dead, port: 0 });
    const page = await openPage(browser, deadServer.url);
    try {
      await waitForPanels(page, clickstreamDashboard.panels.length, (p) => p.state === 'error', 'every panel in error', 60_000);
      for (const panel of await panelStates(page)) expect(panel.error, panel.title).toMatch(/^ClickHouse is unreachable: .*ECONNREFUSED/);
      await expect.poll(() => page.locator('#banner').textContent()).toMatch(/^ClickHouse is unreachable/);
      expect(await page.locator('#banner').isVisible()).toBe(true);
      await page.screenshot({ path: new URL('live-page-clickhouse-down.png', outputDir).pathname });
    } finally {
      await page.close();
      await deadServer.close();
      await dead.close();
    }
  }, 90_000);

  it('shows the ClickHouse message when a query fails', async () => {
    // A reachable server whose database has none of the tables.
    const empty = createClient({ url: config.clickhouse.url, database: 'system', log: { level: ClickHouseLogLevel.OFF } });
    const emptyServer = await startLiveServer({ clickhouse: empty, port: 0 });
    const page = await openPage(browser, emptyServer.url);
    try {
      await waitForPanels(page, clickstreamDashboard.panels.length, (p) => p.state === 'error', 'every panel in error', 60_000);
      const panels = await panelStates(page);
      expect(panels[0]?.error).toMatch(/^Query failed: .*clickstream_active_users_5m/);
      await expect.poll(() => page.locator('#banner').textContent()).toMatch(/panels failed/);
    } finally {
      await page.close();
      await emptyServer.close();
      await empty.close();
    }
  }, 90_000);
});

/** Wait for the panels; a timeout also gives the pipeline's figures. */
function waitForPanels(page: Page, count: number, ok: (p: PanelState) => boolean, what: string, timeoutMs: number): Promise<void> {
  return waitForPanelsOn(page, count, ok, what, timeoutMs, () => `(pipeline in ${lastStatus?.eventsIn ?? 0}, rows ${lastStatus?.rowsWritten ?? 0})`);
}

/** A stat's value now and after the next refreshes (up to 3, until it changes). */
async function statAcrossRefreshes(page: Page, stat: ReturnType<Page['locator']>): Promise<{ before: number; after: number; refreshes: number }> {
  const refreshCount = async () => Number(await page.locator('body').getAttribute('data-refresh-count'));
  const value = async () => Number(await stat.first().getAttribute('data-value'));
  const start = await refreshCount();
  const before = await value();
  let after = before;
  let seen = start;
  while (after <= before && seen < start + 3) {
    await waitFor(async () => (await refreshCount()) > seen, 30_000, 'the next refresh');
    seen = await refreshCount();
    after = await value();
  }
  return { before, after, refreshes: seen - start };
}

function panelId(dashboard: typeof clickstreamDashboard, title: string): number {
  const panel = dashboard.panels.find((p) => p.title === title);
  if (!panel) throw new Error(`no panel "${title}" in ${dashboard.uid}`);
  return panel.id;
}
