/**
 * Definition bugs through `rxa run <file>` as a user runs it (a child process): the run fails with
 * a message naming the file or the pipeline and the thing, and exit code 1. A file without a
 * pipeline and two operators with one id fail before connecting (the servers given are unreachable);
 * a first row that does not fit its table fails before it is written or its message acked.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestServers } from './support/test-servers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
mkdirSync(join(root, 'test-output'), { recursive: true });
const dir = mkdtempSync(join(root, 'test-output', 'bad-definitions-'));
const index = relative(dir, join(root, 'index.ts'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env = useTestServers('baddef');
const { names } = env;

/** A pipeline file in test-output (not type-checked: its bugs are the kind the types would catch). */
function pipelineFile(file: string, source: string): string {
  const path = join(dir, file);
  writeFileSync(
    path,
    `import { count, definePipeline, defineTable, dedupe, tumbling } from '${index}';\nimport { map } from 'rxjs';\nimport { z } from 'zod';\n${source}`,
  );
  return relative(root, path);
}

const pipeline = (build: string): string => `
const views = defineTable('views', { columns: { page: 'String', views: 'UInt64' }, orderBy: ['page'] });
export default definePipeline({
  name: '${names.name}',
  source: { stream: '${names.stream}', subjects: ['${names.subjectPrefix}.>'] },
  schema: z.object({ page: z.string(), ts: z.number() }),
  tables: { views },
  settings: { flushIntervalMs: 100, checkpointIntervalMs: 200 },
  build: (clicks) => ({ views: ${build} }),
});
`;

/** `rxa run <file>`: its exit code and what it printed on stderr. */
async function rxaRun(file: string, servers: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['bin/rxa.js', 'run', file, '--quiet'], {
    cwd: root,
    env: { ...process.env, ...servers },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(killer);
  return { code, stderr };
}

/** Nothing listens there: a run that connects fails on it instead of on the definition. */
const unreachable = { RXA_NATS_URL: '127.0.0.1:1', RXA_CLICKHOUSE_URL: 'http://127.0.0.1:1' };

describe('rxa run on a file with a definition bug', () => {
  it('names the file and its exports when it has no pipeline', async () => {
    const file = pipelineFile('no-default.ts', `export const views = defineTable('views', { columns: { page: 'String' }, orderBy: ['page'] });\n`);
    const { code, stderr } = await rxaRun(file, unreachable);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      `${file}: no pipeline: export one as the default export (export default definePipeline({...})) or as 'pipeline'; its exports are views`,
    );
  }, 60_000);

  it('names the file, the pipeline and the id when two stateful operators share one, before connecting', async () => {
    const file = pipelineFile(
      'shared-id.ts',
      pipeline(`clicks.pipe(
      dedupe({ id: 'pages', key: (c) => c.page + c.ts, time: (c) => c.ts, ttlMs: 60_000 }),
      tumbling({ id: 'pages', sizeMs: 60_000, key: (c) => c.page, time: (c) => c.ts, aggregate: count() }),
      map((w) => ({ page: w.key, views: w.value })),
    )`),
    );
    const { code, stderr } = await rxaRun(file, unreachable);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(`${file}: pipeline ${names.name}: two operators share the id 'pages'; give each stateful operator a distinct id`);
  }, 60_000);

  describe('a first row without one of its table columns', () => {
    beforeAll(async () => {
      const jsm = await jetstreamManager(env.nc);
      await jsm.streams.add({ name: names.stream, subjects: [`${names.subjectPrefix}.>`] });
      await jetstream(env.nc).publish(`${names.subjectPrefix}.0`, JSON.stringify({ page: '/a', ts: Date.now() }));
    });

    it('fails the run naming the pipeline, the table and the column; nothing is written or acked', async () => {
      const file = pipelineFile('missing-column.ts', pipeline(`clicks.pipe(map((c) => ({ page: c.page, view_count: 1 })))`));
      const { code, stderr } = await rxaRun(file, { RXA_CLICKHOUSE_DB: env.database, RXA_CHECKPOINT_BUCKET: env.bucket });
      expect(code).toBe(1);
      expect(stderr).toContain(
        `pipeline ${names.name}, table views: row is missing column views (it has 'view_count', which the table does not) (the first row of output 'views')`,
      );
      const [{ n } = { n: -1 }] = await (await env.chDb.query({ query: 'SELECT count() AS n FROM views', format: 'JSONEachRow' })).json<{ n: number }>();
      expect(Number(n)).toBe(0);
      const consumer = await (await jetstreamManager(env.nc)).consumers.info(names.stream, names.name);
      expect(consumer.ack_floor.stream_seq).toBe(0);
    }, 90_000);
  });
});
