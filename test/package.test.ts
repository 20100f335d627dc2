/**
 * The package as a user gets it: `npm pack`, then in a new project outside the repository
 * `npm install <tarball> zod rxjs typescript`, a pipeline file importing `rxstream-analytics`,
 * type-checked by the project's own tsc (strict, no @types/node, no allowImportingTsExtensions) and
 * run with `npx rxa run ./orders.ts` on the real servers until its rows are in ClickHouse, then
 * stopped with SIGTERM. Needs the npm registry (or npm's cache) for the install.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/helpers.ts';
import { useTestServers } from './support/test-servers.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const servers = useTestServers('pkg');
const { names, database, bucket } = servers;
const subject = `${names.subjectPrefix}.new`;
const tmp = mkdtempSync(join(tmpdir(), 'rxa-package-'));
const project = join(tmp, 'orders-app');
/** The process group of `npx rxa run` (npm, the sh npm runs the bin with, Node), as a terminal's Ctrl-C would reach it. */
let group: number | undefined;

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
  if (group !== undefined) for (const pid of running(group)) process.kill(pid, 'SIGKILL');
  if (!process.env.RXA_KEEP_TEST_DATA) rmSync(tmp, { recursive: true, force: true });
});

/** Runs a command to its end; its output is the failure message when it fails. */
async function run(command: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(command, args, { cwd, env: process.env, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

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
  it('installs, type-checks a pipeline with strict tsc, and runs it with `npx rxa run`', async () => {
    // What a user does: pack, install into a fresh project, write a pipeline, type-check it. The
    // pipeline has no parameter types: the packed declarations must infer them (eventTime, aggregators).
    await run('npm', ['pack', '--pack-destination', tmp, '--silent'], ROOT);
    const [tarball] = readdirSync(tmp).filter((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'orders-app', private: true, type: 'module' }, null, 2)}\n`);
    await run('npm', ['install', join(tmp, tarball!), 'zod', 'rxjs', 'typescript', '--no-audit', '--no-fund', '--prefer-offline'], project);
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

    // In a process group of its own: npm runs the bin through `sh -c`, which does not pass a signal
    // on, so SIGTERM goes to the whole group, as Ctrl-C in a terminal reaches every process of it.
    const child = spawn('npx', ['rxa', 'run', './orders.ts', '--quiet'], {
      cwd: project,
      env: {
        ...process.env,
        RXA_NATS_URL: servers.config.nats.servers,
        RXA_CLICKHOUSE_URL: servers.config.clickhouse.url,
        RXA_CLICKHOUSE_DB: database,
        RXA_CHECKPOINT_BUCKET: bucket,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    group = child.pid!;
    let output = '';
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        process.stderr.write(chunk);
      });
    }

    const query = async <T>(sql: string): Promise<T[]> =>
      (await servers.ch.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<T>();
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
    process.kill(-group, 'SIGTERM');
    const pgid = group;
    await waitFor(() => running(pgid).length === 0, 20_000, 'every process of `npx rxa run` gone after SIGTERM');
    group = undefined;
    expect(output).toContain('SIGTERM: stopping');
    expect(output).not.toMatch(/error|Permission denied/i);
    // A clean stop acks what it wrote: the consumer's ack floor is the last order.
    const consumers = await (await jsm.consumers.list(names.stream)).next();
    expect(consumers.map((c) => c.ack_floor.stream_seq)).toEqual([orders.length]);
  }, 180_000);
});
