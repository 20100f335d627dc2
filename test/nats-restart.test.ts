/**
 * NATS restarts mid-run: the pipeline keeps running, reconnects, resumes consuming, and the totals
 * are exact. A private nats-server (own port and store directory) is stopped and started again, so
 * the shared server other tests use is never disturbed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouseClient } from '../core/clickhouse-client.ts';
import { configFromEnv } from '../core/config.ts';
import { connectNats } from '../core/connections.ts';
import type { GeneratedMessage } from '../generator/messages.ts';
import { clickstreamInput, publishInput } from './support/clickstream-input.ts';
import { freePorts } from './support/free-ports.ts';
import { testId, waitFor } from './support/helpers.ts';
import { expectClickstreamExact } from './support/read-clickstream.ts';
import { startClickstream } from './support/watched-runner.ts';

const id = testId();
const names = { name: `natsrestart_${id}`, stream: `NATSRESTART_${id}`, subjectPrefix: `natsrestart_${id}.events` };
const database = `rxa_natsrestart_${id}`;
const storeDir = mkdtempSync(join(tmpdir(), 'rxa-nats-'));
let port = 0;
let server: ChildProcess | undefined;
let ch: ClickHouseClient;

async function startNats(): Promise<void> {
  server = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: 'ignore' });
  await waitFor(
    async () => {
      try {
        const nc = await connect({ servers: `127.0.0.1:${port}`, reconnect: false });
        await nc.close();
        return true;
      } catch {
        return false;
      }
    },
    20_000,
    'the private nats-server',
  );
}

async function stopNats(): Promise<void> {
  if (!server) return;
  const exited = once(server, 'exit');
  server.kill('SIGTERM');
  await exited;
  server = undefined;
}

beforeAll(async () => {
  [port = 0] = await freePorts(1);
  await startNats();
  ch = createClickHouseClient(configFromEnv().clickhouse);
});

afterAll(async () => {
  await stopNats();
  rmSync(storeDir, { recursive: true, force: true });
  await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await ch.close();
});

describe('NATS restart', () => {
  it('reconnects, resumes and ends with exact totals', async () => {
    const config = configFromEnv(process.env, { nats: { servers: `127.0.0.1:${port}` }, clickhouse: { database } });
    const all = clickstreamInput({ count: 30_000, seed: 9 });
    const publish = async (messages: GeneratedMessage[]): Promise<number> => {
      const nc = await connect({ servers: `127.0.0.1:${port}` });
      try {
        return (await publishInput(nc, names.stream, names.subjectPrefix, messages)).lastSeq;
      } finally {
        await nc.close();
      }
    };
    const firstEnd = await publish(all.slice(0, 15_000));
    const runner = startClickstream(names, { flushIntervalMs: 200, checkpointIntervalMs: 300 }, config, (m) => console.log(m));
    try {
      await waitFor(() => (runner.status()?.eventsIn ?? 0) > 0, 30_000, 'the pipeline to start consuming');
      // Down until a client connected as the runner is (connectNats: an attempt every ~0.5 s) has
      // failed six reconnect attempts, the seventh begun: 3-4 s, the outage this test always had.
      const watcher = await connectNats(config, 'rxa-test:outage-watcher');
      try {
        const statuses = watcher.status();
        await stopNats();
        let attempts = 0;
        for await (const s of statuses) if (s.type === 'reconnecting' && ++attempts === 7) break;
      } finally {
        await watcher.close();
      }
      await startNats();
      const end = await publish(all.slice(15_000));
      expect(end).toBeGreaterThan(firstEnd);
      await waitFor(() => (runner.status()?.ackedSeq ?? 0) >= end, 120_000, 'the pipeline to resume and process everything');
      const final = await runner.stop();
      expect(final.ackedSeq).toBe(end);
      await expectClickstreamExact(config.clickhouse, database, names.name, all);
    } finally {
      await runner.dispose();
    }
  }, 240_000);
});
