import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { errorMessage } from '../../common/error-message.ts';
import { createClickHouseClient } from '../../core/clickhouse-client.ts';
import { configFromEnv } from '../../core/config.ts';
import { clickstreamInput, publishInput } from './clickstream-input.ts';
import { expectedClickstream } from './expected-clickstream.ts';
import { dropTestResources, testId, waitFor } from './helpers.ts';
import { type ClickstreamDiff, diffClickstream, readClickstream } from './read-clickstream.ts';
import { seededRandom } from './seeded-random.ts';

/** Environment variable holding the seed of a crash run (see `CrashScenario.seed`). */
export const CRASH_SEED_ENV = 'RXA_CRASH_SEED';

export interface CrashScenario {
  events: number;
  kills: number;
  /**
   * Seed of every random choice of the run (where in the stream each kill aims, how long a run may
   * live, the pause after a checkpoint), printed when the run starts and carried by its result and
   * errors: a failing run replays with the same choices. (Where a kill lands also depends on how
   * fast the pipeline runs, which no seed fixes.)
   * @default RXA_CRASH_SEED, else random
   */
  seed?: number;
  /** Seed of the published clickstream. @default 7 */
  inputSeed?: number;
  /**
   * A run lives at most this long (uniformly random) before `kill -9`; sooner when the consumer has
   * delivered past the run's point of the stream (see `runCrashScenario`).
   */
  minRunMs?: number;
  maxRunMs?: number;
  log?: (message: string) => void;
}

export interface CrashResult extends ClickstreamDiff {
  /** The run's seed (see `CrashScenario.seed`). */
  seed: number;
  kills: number;
  /** Ack floor (= checkpointed position of that run, 0 if it checkpointed nothing) after each kill. */
  ackFloors: number[];
  lastSeq: number;
  exitCode: number | null;
  durationMs: number;
}

/**
 * Publish a seeded clickstream, run the clickstream pipeline as a child process (`rxa run`), kill
 * it with SIGKILL at random moments, restart it each time, let the last run finish and stop it
 * with SIGTERM; then compare every table with the independently computed totals.
 */
export async function runCrashScenario(scenario: CrashScenario): Promise<CrashResult> {
  const seed = crashSeed(scenario.seed);
  // Printed whatever `log` is: the one thing needed to replay a failure.
  (scenario.log ?? ((m: string) => console.error(m)))(`crash run seed ${seed} (replay: ${CRASH_SEED_ENV}=${seed})`);
  try {
    return await crashScenario(scenario, seed);
  } catch (error) {
    throw new Error(`crash run with seed ${seed} failed (replay: ${CRASH_SEED_ENV}=${seed}): ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

/** `seed`, else the environment's, else a random one. */
function crashSeed(seed: number | undefined): number {
  const fromEnv = process.env[CRASH_SEED_ENV];
  const chosen = seed ?? (fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : randomInt(2 ** 31));
  if (!Number.isSafeInteger(chosen) || chosen < 0) throw new Error(`crash seed: expected a non-negative integer, got ${seed ?? fromEnv}`);
  return chosen;
}

async function crashScenario(scenario: CrashScenario, seed: number): Promise<CrashResult> {
  const log = scenario.log ?? (() => {});
  const { minRunMs = 1_000, maxRunMs = 4_000 } = scenario;
  const random = seededRandom(seed);
  const started = Date.now();
  const id = testId();
  const names = { name: `crash_${id}`, stream: `CRASH_${id}`, subjects: `crash_${id}.events` };
  const database = `rxa_crash_${id}`;
  const bucket = `rxa_ckpt_${id}`;
  const config = configFromEnv(process.env, { clickhouse: { database }, checkpointBucket: bucket });
  const nc = await connect({ servers: config.nats.servers });
  const ch = createClickHouseClient(config.clickhouse);
  const chDb = createClickHouseClient(config.clickhouse, database);
  let child: ChildProcess | undefined;
  try {
    const messages = clickstreamInput({ count: scenario.events, seed: scenario.inputSeed ?? 7, eventsPerSecond: 200, malformedRate: 0.005, trailing: true });
    const expected = expectedClickstream(messages);
    const jsm = await jetstreamManager(nc);
    const { lastSeq } = await publishInput(nc, names.stream, names.subjects, messages);
    log(`published ${messages.length} messages (stream last seq ${lastSeq})`);

    const env = {
      ...process.env,
      RXA_CLICKHOUSE_DB: database,
      RXA_CHECKPOINT_BUCKET: bucket,
      RXA_TEST_NAME: names.name,
      RXA_TEST_STREAM: names.stream,
      RXA_TEST_SUBJECTS: names.subjects,
    };
    /** Start a run; `consuming` resolves when it has restored its checkpoint and starts pulling. */
    const start = (): { process: ChildProcess; consuming: Promise<void> } => {
      const run = spawn(process.execPath, ['bin/rxa.js', 'run', 'test/fixtures/clickstream-pipeline.ts'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      const consuming = new Promise<void>((resolve) => {
        run.stderr!.on('data', (chunk: Buffer) => {
          process.stderr.write(chunk);
          if (chunk.toString().includes('checkpoint')) resolve();
        });
        run.on('exit', () => resolve());
      });
      return { process: run, consuming };
    };
    // The pipeline acks right after each checkpoint, so the consumer's ack floor is the checkpointed
    // position. (A restarted run recreates the consumer at its checkpoint; until that run's first
    // checkpoint the floor reads 0.) The checkpoint object itself is not read here: reading it
    // while the pipeline replaces it races with the chunk purge. Both read 0 while there is no consumer.
    const consumer = async (): Promise<{ ackFloor: number; delivered: number }> => {
      try {
        const info = await jsm.consumers.info(names.stream, names.name);
        return { ackFloor: info.ack_floor.stream_seq, delivered: info.delivered.stream_seq };
      } catch {
        return { ackFloor: 0, delivered: 0 };
      }
    };
    const ackFloor = async (): Promise<number> => (await consumer()).ackFloor;
    /** Polls `condition` until it holds or `ms` have passed. */
    const until = async (condition: () => Promise<boolean>, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline && !(await condition())) await sleep(25);
    };

    const ackFloors: number[] = [];
    for (let kill = 1; kill <= scenario.kills; kill++) {
      const run = start();
      child = run.process;
      const exited = once(child, 'exit');
      await run.consuming;
      // Kill k lands in the k-th of `kills` equal parts of the stream, however fast the pipeline
      // runs (a time alone let a fast run finish the stream before the later kills)...
      const target = Math.floor((lastSeq * (kill - 1 + 0.2 + random.float() * 0.7)) / scenario.kills);
      if (kill % 2 === 0) {
        // ...every second one just after the run's first checkpoint if that comes first (restore from state)...
        await until(async () => {
          const { ackFloor, delivered } = await consumer();
          return ackFloor > 0 || delivered >= target;
        }, 120_000);
        await sleep(random.float() * 300);
      } else {
        // ...the others anywhere, often before the run's first checkpoint (reprocess from the previous one).
        await until(async () => (await consumer()).delivered >= target, minRunMs + random.float() * (maxRunMs - minRunMs));
      }
      child.kill('SIGKILL');
      await exited;
      child = undefined;
      ackFloors.push(await ackFloor());
      log(`kill -9 #${kill}: acked up to seq ${ackFloors[ackFloors.length - 1]} of ${lastSeq}`);
    }

    const last = start();
    child = last.process;
    const exited = once(child, 'exit');
    // Not before it is running: a SIGTERM before its handlers are installed kills it (exit code null).
    await last.consuming;
    await waitFor(async () => (await ackFloor()) >= lastSeq, 600_000, 'the last run to ack the whole stream');
    child.kill('SIGTERM');
    const [exitCode] = (await exited) as [number | null];
    child = undefined;
    const diff = diffClickstream(expected, await readClickstream(chDb, names.name));
    return { ...diff, seed, kills: scenario.kills, ackFloors, lastSeq, exitCode, durationMs: Date.now() - started };
  } finally {
    child?.kill('SIGKILL');
    if (!process.env.RXA_KEEP_TEST_DATA)
      await dropTestResources({ nc, ch, streams: [names.stream], buckets: [bucket], databases: [database], deadLetterPipelines: [names.name] });
    await chDb.close();
    await ch.close();
    await nc.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
