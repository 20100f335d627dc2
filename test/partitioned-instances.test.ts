/**
 * Past one process: the clickstream pipeline with 2 user partitions, run as 2 instances (`rxa run
 * --partitions 0` and `--partitions 1`, separate child processes) on the real servers. Each
 * instance must process exactly its partition (its consumer, its rows), every table summed over
 * partitions must equal the independent computation over the whole input, and each partition's
 * rows the computation over that partition's input. Then: SIGTERM → exit 0; `rxa replay` of every
 * partition changes nothing; an unpartitioned run on partitioned state is refused; `rxa reset`
 * removes every partition's consumer and checkpoint.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../core/checkpoint-store.ts';
import { hasLatestCheckpoint } from '../core/latest-checkpoint.ts';
import { leaseBucket, leaseStore } from '../core/lease.ts';
import { pipelineCheckpointKey } from '../core/partitions.ts';
import { runPipeline } from '../core/runner.ts';
import type { GeneratedMessage } from '../generator/messages.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';
import { consumerInfo } from '../sources/durable-consumer.ts';
import { clickstreamInput, inputPartition, publishInput } from './support/clickstream-input.ts';
import { expectedClickstream } from './support/expected-clickstream.ts';
import { waitFor } from './support/helpers.ts';
import { asStored, readClickstream } from './support/read-clickstream.ts';
import { useTestServers } from './support/test-servers.ts';

const PARTITIONS = 2;
const env = useTestServers('parts');
const { names, database, bucket, config } = env;
const childEnv = {
  ...process.env,
  RXA_CLICKHOUSE_DB: database,
  RXA_CHECKPOINT_BUCKET: bucket,
  RXA_TEST_NAME: names.name,
  RXA_TEST_STREAM: names.stream,
  RXA_TEST_SUBJECTS: names.subjectPrefix,
  RXA_TEST_PARTITIONS: String(PARTITIONS),
};
const FIXTURE = 'test/fixtures/clickstream-pipeline.ts';

let jsm: JetStreamManager;
const children: ChildProcess[] = [];

beforeAll(async () => {
  jsm = await jetstreamManager(env.nc);
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
});

/** `rxa <args>` with the test's environment; stderr is kept (and shown). */
function rxa(args: string[]): { child: ChildProcess; exited: Promise<[number | null]>; stdout: () => string; stderr: () => string } {
  const child = spawn(process.execPath, ['bin/rxa.js', ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    process.stderr.write(chunk);
  });
  return { child, exited: once(child, 'exit') as Promise<[number | null]>, stdout: () => out, stderr: () => err };
}

async function exitCode(exited: Promise<[number | null]>, what: string): Promise<number | null> {
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no exit within 60 s`)), 60_000));
  const [code] = await Promise.race([exited, timeout]);
  return code;
}

describe('two instances, one partition each', () => {
  it('each processes exactly its partition; the tables summed over partitions are exact', async () => {
    const messages = clickstreamInput({
      count: 12_000,
      seed: 23,
      eventsPerSecond: 40,
      duplicateRate: 0.03,
      lateRate: 0.01,
      malformedRate: 0.02,
      trailing: true,
      partitions: PARTITIONS,
    });
    const input: GeneratedMessage[][] = Array.from({ length: PARTITIONS }, () => []);
    for (const [i, m] of messages.entries()) input[inputPartition(m, i, PARTITIONS)]!.push(m);
    await publishInput(env.nc, names.stream, names.subjectPrefix, messages, PARTITIONS);
    const subject = (p: number): string => `${names.subjectPrefix}.${p}`;
    const onSubject = async (p: number): Promise<{ messages: number; lastSeq: number }> => {
      const { state } = await jsm.streams.info(names.stream, { subjects_filter: subject(p) });
      const last = await jsm.streams.getMessage(names.stream, { last_by_subj: subject(p) });
      return { messages: state.subjects?.[subject(p)] ?? 0, lastSeq: last?.seq ?? 0 };
    };
    const stored = await Promise.all([0, 1].map(onSubject));
    for (const s of stored) expect(s.messages).toBeGreaterThan(5_000);

    const instances = [0, 1].map((p) => rxa(['run', FIXTURE, '--partitions', String(p), '--quiet']));
    // Acked everything: the ack floor of each partition's consumer is its subject's last message.
    await waitFor(
      async () => {
        for (const p of [0, 1]) {
          const info = await consumerInfo(jsm, names.stream, `${names.name}_p${p}`);
          if (!info || info.num_pending > 0 || info.num_ack_pending > 0 || info.ack_floor.stream_seq !== stored[p]!.lastSeq) return false;
        }
        return true;
      },
      120_000,
      'both partition consumers to ack their whole subject',
    );

    // Each instance consumed only its partition's subject, each message once.
    for (const p of [0, 1]) {
      const info = (await consumerInfo(jsm, names.stream, `${names.name}_p${p}`))!;
      expect(info.config.filter_subject).toBe(subject(p));
      expect(info.delivered.consumer_seq).toBe(stored[p]!.messages);
      expect(instances[p]!.stderr()).toContain(`running partitions ${p} of ${PARTITIONS}`);
    }
    expect(await consumerInfo(jsm, names.stream, names.name)).toBeUndefined();

    // Each partition's rows are exactly what its own input gives; the sums, what the whole input gives.
    for (const p of [0, 1]) expect(await readClickstream(env.chDb, names.name, p), `partition ${p}`).toEqual(asStored(expectedClickstream(input[p]!)));
    const expected = asStored(expectedClickstream(messages));
    expect(expected.sessions.size).toBeGreaterThan(0);
    expect(expected.lateEvents).toBeGreaterThan(0);
    expect(await readClickstream(env.chDb, names.name)).toEqual(expected);
    // Same window, different partitions: two rows, not one replacing the other.
    const shared = await env.chDb.query({
      query: 'SELECT count() AS n FROM clickstream_unique_users_1m FINAL GROUP BY window_start HAVING count() = 2',
      format: 'JSONEachRow',
    });
    expect((await shared.json()).length).toBeGreaterThan(0);

    for (const { child } of instances) child.kill('SIGTERM');
    for (const [p, { exited }] of instances.entries()) expect(await exitCode(exited, `instance ${p}`)).toBe(0);
    expect(await readClickstream(env.chDb, names.name)).toEqual(expected);

    // Replay of the whole stream, every partition (one after another): nothing changes.
    const replay = rxa(['replay', FIXTURE, '--from', '1']);
    expect(await exitCode(replay.exited, 'replay')).toBe(0);
    const summaries = replay
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { partition: number; processed: number });
    expect(summaries.map((s) => [s.partition, s.processed])).toEqual([0, 1].map((p) => [p, stored[p]!.messages]));
    expect(await readClickstream(env.chDb, names.name)).toEqual(expected);

    // The same pipeline unpartitioned would count every key a second time under partition 0: refused.
    const unpartitioned = createClickstreamPipeline(names);
    await expect(runPipeline(unpartitioned, { config, signal: new AbortController().signal })).rejects.toThrow(
      `pipeline '${names.name}' has state from a partitioned run`,
    );

    // Reset forgets every partition: consumers and checkpoints.
    const reset = rxa(['reset', FIXTURE]);
    expect(await exitCode(reset.exited, 'reset')).toBe(0);
    expect(reset.stdout()).toContain(`consumers deleted: ${names.name}_p0, ${names.name}_p1`);
    const store = await CheckpointStore.open(env.nc, bucket);
    const pointers = await leaseStore(env.nc, leaseBucket(bucket));
    for (const p of [0, 1]) {
      expect(await consumerInfo(jsm, names.stream, `${names.name}_p${p}`)).toBeUndefined();
      expect(await hasLatestCheckpoint(pointers, store, pipelineCheckpointKey(names.name, p))).toBe(false);
      expect(await store.names(pipelineCheckpointKey(names.name, p))).toEqual([]);
    }
  }, 240_000);
});
