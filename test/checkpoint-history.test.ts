/**
 * Historical checkpoints (what replay restores from) keep their spacing across restarts: a
 * restarted pipeline takes its next copy `checkpointHistoryIntervalMs` after the newest one, not
 * at its first checkpoint, which would save the whole state twice at every start and, with
 * frequent restarts, push the older copies out of the kept window.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../core/checkpoint-store.ts';
import { createClickHouseClient } from '../core/clickhouse-client.ts';
import { configFromEnv } from '../core/config.ts';
import { pipelineCheckpointKey } from '../core/partitions.ts';
import { clickstreamInput, publishInput } from './support/clickstream-input.ts';
import { dropTestResources, testId, waitFor } from './support/helpers.ts';
import { startClickstream } from './support/watched-runner.ts';

const id = testId();
const names = { name: `history_${id}`, stream: `HISTORY_${id}`, subjectPrefix: `history_${id}.events` };
const database = `rxa_history_${id}`;
const bucket = `rxa_history_${id}`;
const config = configFromEnv(process.env, { clickhouse: { database }, checkpointBucket: bucket });
let nc: NatsConnection;
let ch: ClickHouseClient;

beforeAll(async () => {
  nc = await connect({ servers: config.nats.servers });
  ch = createClickHouseClient(config.clickhouse);
});

afterAll(async () => {
  await dropTestResources({ nc, ch, streams: [names.stream], buckets: [bucket], databases: [database], deadLetterPipelines: [names.name] });
  await ch.close();
  await nc.close();
});

describe('checkpoint history across restarts', () => {
  it('takes the next copy an interval after the newest one, not at the first checkpoint after a restart', async () => {
    const all = clickstreamInput({ count: 3_000, seed: 9 });
    const settings = { flushIntervalMs: 100, checkpointIntervalMs: 200, checkpointHistoryIntervalMs: 600_000 };
    const history = async () => (await CheckpointStore.open(nc, bucket)).history(pipelineCheckpointKey(names.name));

    for (const [run, part] of [all.slice(0, 1_000), all.slice(1_000, 2_000), all.slice(2_000)].entries()) {
      const { lastSeq } = await publishInput(nc, names.stream, names.subjectPrefix, part);
      const runner = startClickstream(names, settings, config);
      try {
        await waitFor(() => (runner.status()?.ackedSeq ?? 0) >= lastSeq, 60_000, `run ${run + 1} to process its input`);
        expect((await runner.stop()).checkpoints).toBeGreaterThanOrEqual(1);
      } finally {
        await runner.dispose();
      }
      // The first run's first checkpoint is copied; the restarts, within 10 minutes of it, add none.
      const copies = await history();
      expect(copies, `after run ${run + 1}`).toHaveLength(1);
      expect(copies[0]!.savedAt).toBeGreaterThan(Date.now() - 120_000);
    }
  }, 180_000);
});
