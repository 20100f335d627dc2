import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { JetStreamManager } from '@nats-io/jetstream';
import { checkpointStreams } from '../core/checkpoint-store.ts';
import { quoteIdent } from '../sinks/clickhouse/sql.ts';
import { DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECT_PREFIX } from '../sinks/dead-letter.ts';

/** Everything one benchmark phase creates on the shared servers, named uniquely per run and phase. */
export interface PhaseNames {
  /** Pipeline name (consumer, checkpoint key, dead-letter subject). */
  readonly pipeline: string;
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly database: string;
  readonly bucket: string;
}

/** NATS keeps streams between runs, so every run and phase names its own things (lower-case: SQL and NATS safe). */
export function phaseNames(runId: string, phase: string): PhaseNames {
  return {
    pipeline: `bench_${phase}_${runId}`,
    stream: `BENCH_${phase.toUpperCase()}_${runId}`,
    subjectPrefix: `bench_${runId}.${phase}.events`,
    database: `rxa_bench_${phase}_${runId}`,
    bucket: `rxa_bench_${phase}_${runId}`,
  };
}

export function newRunId(): string {
  return `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
}

/**
 * Remove what a phase created: its stream (with `sharedStream`, a stream other phases read too:
 * only its consumer on it), the checkpoint bucket's streams (`OBJ_<bucket>` and its leases), its
 * dead letters in RXA_DLQ and its database. Best effort: a missing thing is not an error.
 */
export async function dropPhase(
  jsm: JetStreamManager,
  clickhouse: ClickHouseClient,
  names: PhaseNames,
  options: { sharedStream?: boolean } = {},
): Promise<void> {
  if (options.sharedStream) await jsm.consumers.delete(names.stream, names.pipeline).catch(() => {});
  const streams = options.sharedStream ? checkpointStreams(names.bucket) : [names.stream, ...checkpointStreams(names.bucket)];
  for (const stream of streams) await jsm.streams.delete(stream).catch(() => {});
  await jsm.streams.purge(DEAD_LETTER_STREAM, { filter: `${DEAD_LETTER_SUBJECT_PREFIX}.${names.pipeline}.>` }).catch(() => {});
  await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${quoteIdent(names.database)}` }).catch(() => {});
}
