/**
 * The pipeline on a NATS JetStream cluster: three nats-server processes of the test's own
 * (test/support/nats-cluster.ts), the stream and everything rxa creates with 3 replicas, `rxa run`
 * given all three servers in RXA_NATS_URL. Mid-run, while events are being published, the stream's
 * leader is killed (SIGKILL) and started again, then the server the pipeline is connected to (then
 * the consumer's leader, if neither led it), each after the last restarted server has caught up, as
 * an operator would wait. The same process keeps running throughout, and every table ends with the
 * exact totals.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { ClickHouseClient } from '@clickhouse/client';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointStreams } from '../core/checkpoint-store.ts';
import { createClickHouseClient } from '../core/clickhouse-client.ts';
import { configFromEnv } from '../core/config.ts';
import { DEAD_LETTER_STREAM } from '../sinks/dead-letter.ts';
import { ensureStream } from '../sources/streams.ts';
import { clickstreamInput, publishInput } from './support/clickstream-input.ts';
import { expectedClickstream } from './support/expected-clickstream.ts';
import { testId, waitFor } from './support/helpers.ts';
import { useNatsCluster } from './support/nats-cluster.ts';
import { publishInOrder } from './support/ordered-publisher.ts';
import { diffClickstream, readClickstream } from './support/read-clickstream.ts';

const id = testId();
const names = { name: `natscluster_${id}`, stream: `NATSCLUSTER_${id}`, subjects: `natscluster_${id}.events` };
const database = `rxa_natscluster_${id}`;
const bucket = `rxa_ckpt_${id}`;
const REPLICAS = 3;
/** The live publisher's pace: its 24,004 events last a minute, longer than the three faults with the waits after them (~40 s). */
const LIVE_PER_SECOND = 400;
const nats = useNatsCluster(`rxa-${id}`);
const config = configFromEnv(process.env, { clickhouse: { database } });
let nc: NatsConnection;
let ch: ClickHouseClient;

beforeAll(async () => {
  nc = await connect({ servers: nats.cluster.urls, name: 'rxa-test:natscluster', maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  ch = createClickHouseClient(config.clickhouse);
});

afterAll(async () => {
  await nc?.close();
  // The stream and buckets go with the cluster's directory; the database is on the shared server.
  if (!process.env.RXA_KEEP_TEST_DATA) await ch?.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await ch?.close();
});

/** A timestamped log line, kept for the failure message and printed. */
const logs: string[] = [];
const started = Date.now();
function log(message: string): void {
  const line = `+${((Date.now() - started) / 1000).toFixed(1)}s ${message}`;
  logs.push(line);
  console.log(line);
}

describe('NATS cluster', () => {
  it('keeps one pipeline process running through the loss of the stream leader and of its server, with exact totals', async () => {
    const { cluster } = nats;
    const all = clickstreamInput({ count: 30_000, seed: 43, trailing: true });
    const expected = expectedClickstream(all);
    const jsm = await jetstreamManager(nc);
    // Created here with the library's own call, as `rxa run` would with RXA_STREAM_REPLICAS.
    await ensureStream(jsm, { name: names.stream, subjects: [`${names.subjects}.>`], replicas: REPLICAS });
    const first = all.slice(0, 6_000);
    let lastSeq = (await publishInput(nc, names.stream, names.subjects, first)).lastSeq;

    const consumer = async (): Promise<{ delivered: number; acked: number } | undefined> => {
      try {
        const info = await jsm.consumers.info(names.stream, names.name);
        return { delivered: info.delivered.stream_seq, acked: info.ack_floor.stream_seq };
      } catch {
        return undefined; // an election, or a server down
      }
    };
    const until = async (condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> => {
      await waitFor(condition, timeoutMs, what).catch((error: unknown) => {
        const publisher = live?.lastError === undefined ? '' : `\nthe live publisher's last failure: ${String(live.lastError)}`;
        throw new Error(`${(error as Error).message}; last log lines:\n${logs.slice(-25).join('\n')}${publisher}\n${nats.cluster.logTails(12)}`);
      });
    };

    const env = {
      ...process.env,
      RXA_NATS_URL: cluster.urls.join(','),
      RXA_STREAM_REPLICAS: String(REPLICAS),
      RXA_CLICKHOUSE_DB: database,
      RXA_CHECKPOINT_BUCKET: bucket,
      RXA_TEST_NAME: names.name,
      RXA_TEST_STREAM: names.stream,
      RXA_TEST_SUBJECTS: names.subjects,
    };
    const child: ChildProcess = spawn(process.execPath, ['bin/rxa.js', 'run', 'test/fixtures/clickstream-pipeline.ts'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let exit: { code: number | null; signal: NodeJS.Signals | null; atMs: number } | undefined;
    const exited = once(child, 'exit');
    child.on('exit', (code, signal) => {
      exit = { code, signal, atMs: Date.now() - started };
      log(`rxa run exited: code ${code}, signal ${signal}`);
    });
    let partial = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') log(`[rxa run] ${line}`);
    });
    const pid = child.pid;
    let live: ReturnType<typeof publishInOrder> | undefined;
    try {
      await until(async () => ((await consumer())?.acked ?? 0) >= lastSeq, 'the pipeline to process and ack the first part');
      log(`first part acked up to seq ${lastSeq}`);

      // Events keep coming, one at a time and in order, through the faults.
      const rest = all.slice(first.length);
      // Paced, so that messages still come after each fault: the pipeline is seen to consume again.
      live = publishInOrder(nc, names.subjects, rest, first.length, LIVE_PER_SECOND);
      await until(() => live!.published >= 500, 'the live publisher to start');

      let consumerLeaderLost = false;
      /** Kill server `i`; measures how long until the stream has a leader again and the pipeline delivers past where it was. */
      const fault = async (i: number, why: string): Promise<{ electionMs: number; stallMs: number }> => {
        const before = (await consumer())?.delivered ?? 0;
        const consumerLeader = await cluster.consumerLeader(nc, names.stream, names.name);
        if (consumerLeader === i) consumerLeaderLost = true;
        const killedAt = Date.now();
        await cluster.kill(i);
        const also = consumerLeader === i && !why.includes('consumer') ? ', also the consumer leader' : '';
        log(`killed ${cluster.servers[i]!.name} (${why}${also}), pipeline delivered up to seq ${before}`);
        await until(async () => (await cluster.streamLeader(nc, names.stream)) !== undefined, 'a new stream leader');
        const electionMs = Date.now() - killedAt;
        log(`stream leader ${cluster.servers[(await cluster.streamLeader(nc, names.stream))!]!.name} after ${electionMs} ms`);
        await until(async () => ((await consumer())?.delivered ?? 0) > before, 'the pipeline to consume again');
        const stallMs = Date.now() - killedAt;
        log(`pipeline consuming again ${stallMs} ms after the kill`);
        await cluster.restart(i);
        log(`${cluster.servers[i]!.name} restarted and back in the meta group`);
        await cluster.waitCurrent(nc, [{ stream: names.stream, name: names.name }]);
        log(`streams and the consumer current again ${Date.now() - killedAt} ms after the kill`);
        return { electionMs, stallMs };
      };

      const leader = await cluster.streamLeader(nc, names.stream);
      expect(leader).toBeDefined();
      const leaderLoss = await fault(leader!, 'the stream leader');
      const mark = live.published;
      await until(() => live!.published >= mark + 500, 'the live publisher to go on');
      const connected = await cluster.serversOfClient(`rxa:${names.name}`);
      expect(connected).toHaveLength(1);
      const connectedLoss = await fault(
        connected[0]!,
        `the server rxa run is connected to${connected[0] === (await cluster.streamLeader(nc, names.stream)) ? ', also the stream leader' : ''}`,
      );
      // The consumer's leader holds the pulls: lost with neither server, it is killed too.
      let consumerLoss: { electionMs: number; stallMs: number } | undefined;
      if (!consumerLeaderLost) {
        const leads = await cluster.consumerLeader(nc, names.stream, names.name);
        expect(leads).toBeDefined();
        consumerLoss = await fault(leads!, 'the consumer leader');
      }

      // The rest at once, ending with an event per partition an hour later that closes every window.
      const liveCount = await live.stop();
      log(`published ${liveCount} events one at a time (${live.retries} publishes retried, ${live.reconnects} reconnects)`);
      lastSeq = (await publishInput(nc, names.stream, names.subjects, rest.slice(liveCount))).lastSeq;
      const { state } = await jsm.streams.info(names.stream);
      expect(state.messages).toBe(lastSeq);
      await until(async () => ((await consumer())?.acked ?? 0) >= lastSeq, 'the pipeline to ack the whole stream', 120_000);
      expect(exit, 'rxa run exited before it was stopped').toBeUndefined();
      expect(child.pid).toBe(pid);
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);

      const chDb = createClickHouseClient(config.clickhouse, database);
      const diff = diffClickstream(expected, await readClickstream(chDb, names.name).finally(() => chDb.close()));
      log(
        JSON.stringify({
          leaderLoss,
          connectedLoss,
          consumerLoss,
          events: all.length,
          expected: diff.expected,
          actual: diff.actual,
          lost: diff.lost,
          duplicated: diff.duplicated,
        }),
      );
      expect(diff.differences).toEqual([]);
      expect(diff.lost).toBe(0);
      expect(diff.duplicated).toBe(0);
      // Nothing dead-lettered but the malformed input (stage validate, counted in the totals above).
      const [other] = await (
        await ch.query({
          query: `SELECT count() AS n FROM ${database}.rxa_dead_letters_current WHERE pipeline = '${names.name}' AND stage != 'validate'`,
          format: 'JSONEachRow',
          clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
        })
      ).json<{ n: number }>();
      expect(other?.n).toBe(0);
      // Everything rxa created in JetStream has the replicas it was told.
      for (const stream of [DEAD_LETTER_STREAM, ...checkpointStreams(bucket).filter((s) => !s.includes('_schemas'))]) {
        expect((await jsm.streams.info(stream)).config.num_replicas, stream).toBe(REPLICAS);
      }
    } finally {
      await live?.stop();
      if (exit === undefined) child.kill('SIGKILL');
    }
  }, 180_000);
});
