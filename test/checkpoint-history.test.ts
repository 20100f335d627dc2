/**
 * Historical checkpoints (what replay restores from) keep their spacing across restarts: a
 * restarted pipeline takes its next copy `checkpointHistoryIntervalMs` after the newest one, not
 * at its first checkpoint, which would save the whole state twice at every start and, with
 * frequent restarts, push the older copies out of the kept window.
 */
import { describe, expect, it } from 'vitest';
import { CheckpointStore } from '../core/checkpoint-store.ts';
import { pipelineCheckpointKey } from '../core/partitions.ts';
import { clickstreamInput, publishInput } from './support/clickstream-input.ts';
import { waitFor } from './support/helpers.ts';
import { useTestServers } from './support/test-servers.ts';
import { startClickstream } from './support/watched-runner.ts';

const env = useTestServers('history', { bucket: 'rxa_history' });
const { names, bucket, config } = env;

describe('checkpoint history across restarts', () => {
  it('takes the next copy an interval after the newest one, not at the first checkpoint after a restart', async () => {
    const all = clickstreamInput({ count: 3_000, seed: 9 });
    const settings = { flushIntervalMs: 100, checkpointIntervalMs: 200, checkpointHistoryIntervalMs: 600_000 };
    const history = async () => (await CheckpointStore.open(env.nc, bucket)).history(pipelineCheckpointKey(names.name));

    for (const [run, part] of [all.slice(0, 1_000), all.slice(1_000, 2_000), all.slice(2_000)].entries()) {
      const { lastSeq } = await publishInput(env.nc, names.stream, names.subjectPrefix, part);
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
