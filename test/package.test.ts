/**
 * The package as a user gets it: `npm pack`, then in a new project outside the repository
 * `npm install <tarball> zod rxjs typescript`, a pipeline file importing `rxstream-analytics`,
 * type-checked by the project's own tsc (strict, no @types/node, no allowImportingTsExtensions) and
 * run with `npx rxa run ./orders.ts` on the real servers until its rows are in ClickHouse, then
 * stopped with SIGTERM. Then `npx rxa init` from that install: the project it makes installs with
 * the same tarball, its `npm test` (strict tsc, vitest with testPipeline) passes, and its `npm start`
 * writes rows to ClickHouse, and its dashboard shows them on the live page (`--serve`, in Debian's
 * chromium). Needs the npm registry (or npm's cache) for the installs.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium, launchChromium } from '../live/chromium.ts';
import { waitFor } from './support/helpers.ts';
import { openPage, panelStates, waitForPanels } from './support/live-page.ts';
import { useTestServers } from './support/test-servers.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const servers = useTestServers('pkg');
const { names, database, bucket } = servers;
const subject = `${names.subjectPrefix}.new`;
const tmp = mkdtempSync(join(tmpdir(), 'rxa-package-'));
const project = join(tmp, 'orders-app');
/** The packed package, made once in `beforeAll` for both tests. */
let tarball = '';
/** The process groups still running of `npx rxa run` / `npm start` (npm, the sh npm runs the bin with, Node). */
const groups = new Set<number>();

/** Processes of the group still running (not zombies). */
function running(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        // pid (comm) state ppid pgrp ...: comm can hold spaces, so fields are counted after its ')'.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(pgrp) === pgid && state !== 'Z' ? [Number(pid)] : [];
      } catch {
        return []; // gone meanwhile
      }
    });
}

afterAll(() => {
  for (const group of groups) for (const pid of running(group)) process.kill(pid, 'SIGKILL');
  if (!process.env.RXA_KEEP_TEST_DATA) rmSync(tmp, { recursive: true, force: true });
});

/** Runs a command to its end; its output is the failure message when it fails. */
async function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(command, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/**
 * Starts a long-running command in a process group of its own: npm runs the bin through `sh -c`,
 * which does not pass a signal on, so it is stopped by signalling the whole group, as Ctrl-C in a
 * terminal reaches every process of it. Its output is echoed to stderr and collected.
 */
function startGroup(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): { group: number; output: () => string } {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const group = child.pid!;
  groups.add(group);
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      process.stderr.write(chunk);
    });
  }
  return { group, output: () => output };
}

/** SIGTERM to every process of the group, then waits until all are gone. */
async function stopGroup(group: number, what: string): Promise<void> {
  process.kill(-group, 'SIGTERM');
  await waitFor(() => running(group).length === 0, 20_000, `every process of ${what} gone after SIGTERM`);
  groups.delete(group);
}

/** The connections of a pipeline run by a test, as RXA_* variables. */
function runEnv(db: string, checkpointBucket: string): NodeJS.ProcessEnv {
  return {
    RXA_NATS_URL: servers.config.nats.servers.join(','),
    RXA_CLICKHOUSE_URL: servers.config.clickhouse.url,
    RXA_CLICKHOUSE_DB: db,
    RXA_CHECKPOINT_BUCKET: checkpointBucket,
  };
}

const query = async <T>(sql: string): Promise<T[]> =>
  (await servers.ch.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<T>();

const ORDERS_TS = `import { map } from 'rxjs';
import { combine, count, definePipeline, defineTable, sum, tumbling, windowRow } from 'rxstream-analytics';
import { z } from 'zod';

const Order = z.object({ order_id: z.string().min(1), product: z.string().min(1), amount: z.number().nonnegative(), ts: z.number().int().positive() });

const revenue = defineTable('revenue_1m', {
  columns: { window_start: 'DateTime', product: 'String', revenue: 'Float64', orders: 'UInt64', version: 'UInt64' },
  orderBy: ['window_start', 'product'],
  version: 'version',
});

export default definePipeline({
  name: '${names.name}',
  source: { stream: '${names.stream}', subjects: ['${names.subjectPrefix}.>'] },
  schema: Order,
  eventTime: { time: (o) => o.ts },
  tables: { revenue },
  settings: { flushIntervalMs: 200, checkpointIntervalMs: 500 },
  build: (orders) => ({
    revenue: orders.pipe(
      tumbling({
        id: 'revenue',
        sizeMs: 60_000,
        key: (o) => o.product,
        aggregate: combine({ revenue: sum((o) => o.amount), orders: count() }),
      }),
      map((w) => windowRow(w, { window_start: w.start, product: w.key, revenue: w.value.revenue, orders: w.value.orders })),
    ),
  }),
});
`;

describe('the packed package in a project of its own', () => {
  beforeAll(async () => {
    ensureChromium();
    // What a user does: pack, install into a fresh project.
    await run('npm', ['pack', '--pack-destination', tmp, '--silent'], ROOT);
    const [file] = readdirSync(tmp).filter((f) => f.endsWith('.tgz'));
    expect(file).toBeDefined();
    tarball = join(tmp, file!);
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'orders-app', private: true, type: 'module' }, null, 2)}\n`);
    await run('npm', ['install', tarball, 'zod', 'rxjs', 'typescript', '--no-audit', '--no-fund', '--prefer-offline'], project);
  }, 180_000);

  it('installs, type-checks a pipeline with strict tsc, and runs it with `npx rxa run`', async () => {
    // The pipeline has no parameter types: the packed declarations must infer them (eventTime, aggregators).
    writeFileSync(join(project, 'orders.ts'), ORDERS_TS);
    writeFileSync(
      join(project, 'tsconfig.json'),
      `${JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext' }, include: ['*.ts'] }, null, 2)}\n`,
    );
    expect(readdirSync(join(project, 'node_modules')).includes('@types')).toBe(false);
    await run(join(project, 'node_modules', '.bin', 'tsc'), ['-p', '.', '--pretty', 'false'], project);

    // Six orders in two one-minute windows (event time an hour ago), then the pipeline.
    const jsm = await jetstreamManager(servers.nc);
    await jsm.streams.add({ name: names.stream, subjects: [`${names.subjectPrefix}.>`] });
    const js = jetstream(servers.nc);
    const base = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
    const orders = [
      { product: 'latte', amount: 3.5, ts: base + 1_000 },
      { product: 'latte', amount: 4, ts: base + 2_000 },
      { product: 'tea', amount: 2, ts: base + 3_000 },
      { product: 'latte', amount: 3.5, ts: base + 61_000 },
      { product: 'tea', amount: 2.5, ts: base + 62_000 },
      { product: 'tea', amount: 2.5, ts: base + 63_000 },
    ];
    for (const [i, order] of orders.entries()) await js.publish(subject, JSON.stringify({ order_id: `o-${i}`, ...order }), { msgID: `o-${i}` });

    const { group, output } = startGroup('npx', ['rxa', 'run', './orders.ts', '--quiet'], project, runEnv(database, bucket));
    const table = `\`${database}\`.revenue_1m`;
    await waitFor(
      async () => {
        try {
          return (await query<{ n: number }>(`SELECT sum(orders) AS n FROM ${table} FINAL`))[0]?.n === orders.length;
        } catch {
          return false; // the pipeline has not created its table yet
        }
      },
      30_000,
      'all six orders in ClickHouse',
    );
    const rows = await query<{ w: number; product: string; revenue: number; orders: number }>(
      `SELECT toUnixTimestamp(window_start) * 1000 AS w, product, revenue, orders FROM ${table} FINAL ORDER BY w, product`,
    );
    expect(rows).toEqual([
      { w: base, product: 'latte', revenue: 7.5, orders: 2 },
      { w: base, product: 'tea', revenue: 2, orders: 1 },
      { w: base + 60_000, product: 'latte', revenue: 3.5, orders: 1 },
      { w: base + 60_000, product: 'tea', revenue: 5, orders: 2 },
    ]);

    // Stopped as a terminal would: every process gets SIGTERM; the pipeline flushes, acks and exits.
    await stopGroup(group, '`npx rxa run`');
    expect(output()).toContain('SIGTERM: stopping');
    expect(output()).not.toMatch(/error|Permission denied/i);
    // A clean stop acks what it wrote: the consumer's ack floor is the last order.
    const consumers = await (await jsm.consumers.list(names.stream)).next();
    expect(consumers.map((c) => c.ack_floor.stream_seq)).toEqual([orders.length]);
  }, 180_000);

  it('`npx rxa init` makes a project whose `npm test` passes and whose `npm start` writes rows', async () => {
    // Names of its own on the shared servers, put into the scaffolded pipeline in place of the template's.
    const init = { name: `init_${servers.id}`, stream: `INIT_${servers.id}`, subjects: `init_${servers.id}`, database: `rxa_init_${servers.id}` };
    const initBucket = `rxa_ckpt_init_${servers.id}`;
    servers.alsoDrop({ streams: [init.stream], buckets: [initBucket], databases: [init.database], deadLetterPipelines: [init.name] });

    const app = join(tmp, 'app');
    const printed = await run('npx', ['rxa', 'init', app], project);
    expect(printed).toContain('npm test');
    expect(printed).toContain('npm start');
    for (const file of ['package.json', 'tsconfig.json', 'pipeline.ts', 'pipeline.test.ts', 'README.md', '.gitignore']) {
      expect(existsSync(join(app, file)), file).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
    const ours = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({
      type: 'module',
      scripts: { start: 'rxa run ./pipeline.ts', test: 'tsc --noEmit && vitest run' },
      dependencies: { 'rxstream-analytics': `^${ours.version}`, zod: expect.any(String), rxjs: expect.any(String) },
      devDependencies: { typescript: expect.any(String), vitest: expect.any(String) },
    });
    // A directory that is not empty is refused, and left as it was.
    await expect(run('npx', ['rxa', 'init', app], project)).rejects.toThrow(/is not empty/);
    expect(readdirSync(app).sort()).toEqual(['.gitignore', 'README.md', 'package.json', 'pipeline.test.ts', 'pipeline.ts', 'tsconfig.json']);

    // The package is not published: the tarball takes the dependency's place, the rest from npm.
    await run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], app);
    // Its own vitest, as in a terminal: without the variables this vitest run sets for its workers.
    const terminal = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(VITEST|NODE_OPTIONS$|TEST$)/.test(key)));
    const tested = await run('npm', ['test'], app, terminal);
    expect(tested).toMatch(/1 passed/);
    // Its dashboard, as Grafana JSON: the panel queries name the pipeline's table.
    await run('npx', ['rxa', 'dashboards', './pipeline.ts', '--out', 'grafana'], app, terminal);
    const grafana = JSON.parse(readFileSync(join(app, 'grafana', 'orders.json'), 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ rawSql: string }> }>;
    };
    expect(grafana.panels.map((p) => p.title)).toEqual(['Revenue per minute', 'Top products']);
    expect(grafana.panels[0]?.targets[0]?.rawSql).toContain('FROM product_revenue_1m_current');

    // The template's names, replaced by this run's (each one must be there to be replaced).
    let pipeline = readFileSync(join(app, 'pipeline.ts'), 'utf8');
    for (const [from, to] of [
      ["name: 'orders'", `name: '${init.name}'`],
      ["stream: 'ORDERS'", `stream: '${init.stream}'`],
      ["subjects: ['orders.>']", `subjects: ['${init.subjects}.>']`],
    ] as const) {
      expect(pipeline).toContain(from);
      pipeline = pipeline.replace(from, to);
    }
    writeFileSync(join(app, 'pipeline.ts'), pipeline);

    const jsm = await jetstreamManager(servers.nc);
    await jsm.streams.add({ name: init.stream, subjects: [`${init.subjects}.>`] });
    const js = jetstream(servers.nc);
    const base = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
    const orders = [
      { order_id: 'o-1', product: 'latte', quantity: 2, unit_price: 3.5, ts: base + 1_000 },
      { order_id: 'o-2', product: 'tea', quantity: 1, unit_price: 2, ts: base + 2_000 },
      { order_id: 'o-2', product: 'tea', quantity: 1, unit_price: 2, ts: base + 2_000 }, // re-sent: counted once
      { order_id: 'o-3', product: 'latte', quantity: 1, unit_price: 4, ts: base + 61_000 },
    ];
    for (const order of orders) await js.publish(`${init.subjects}.new`, JSON.stringify(order));

    // Port 0: any free port; the pipeline prints the page's address.
    const { group, output } = startGroup('npm', ['start', '--', '--quiet', '--serve', '0'], app, runEnv(init.database, initBucket));
    const table = `\`${init.database}\`.product_revenue_1m`;
    type Row = { w: number; product: string; revenue: number; orders: number; units: number };
    const read = async (): Promise<Row[]> => {
      try {
        return await query<Row>(`SELECT toUnixTimestamp(window_start) * 1000 AS w, product, revenue, orders, units FROM ${table} FINAL ORDER BY w, product`);
      } catch {
        return []; // the pipeline has not created its table yet
      }
    };
    await waitFor(async () => (await read()).reduce((n, r) => n + r.orders, 0) === 3, 30_000, 'the three distinct orders in ClickHouse');
    expect(await read()).toEqual([
      { w: base, product: 'latte', revenue: 7, orders: 1, units: 2 },
      { w: base, product: 'tea', revenue: 2, orders: 1, units: 1 },
      { w: base + 60_000, product: 'latte', revenue: 4, orders: 1, units: 1 },
    ]);

    // The project's own dashboard on the live page, in a browser: its panels show the rows.
    await waitFor(() => /live dashboards: (http:\/\/\S+\/) /.test(output()), 30_000, 'the live page address');
    const url = /live dashboards: (http:\/\/\S+\/) /.exec(output())![1]!;
    const browser = await launchChromium();
    try {
      const page = await openPage(browser, `${url}?dashboard=orders&range=now-6h`);
      await waitForPanels(page, 2, (p) => p.state === 'ok' && p.rows > 0, 'both panels of the scaffolded dashboard with rows', 60_000);
      expect((await panelStates(page)).map((p) => [p.title, p.rows])).toEqual([
        ['Revenue per minute', 2],
        ['Top products', 2],
      ]);
      // Drawn, not only fetched: the bar chart has its canvas.
      expect(await page.locator('[data-panel-type="barchart"] canvas').count()).toBe(1);
      await page.close();
    } finally {
      await browser.close();
    }

    await stopGroup(group, '`npm start`');
    expect(output()).toContain('SIGTERM: stopping');
    expect(output()).not.toMatch(/error|Permission denied/i);
  }, 300_000);
});
