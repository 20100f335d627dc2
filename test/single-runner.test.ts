/**
 * One process at a time runs a pipeline's state (core/lease.ts): a second runner of the same
 * pipeline (or a reset) waits while the first runs, takes over when it stops, and a runner whose
 * lease another process took stops without acking again. Totals stay exact throughout.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { resetPipeline } from '../cli/reset.ts';
import { leaseBucket, leaseStore } from '../core/lease.ts';
import { pipelineCheckpointKey } from '../core/partitions.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';
import { clickstreamInput, publishInput } from './support/clickstream-input.ts';
import { waitFor, watchKey } from './support/helpers.ts';
import { expectClickstreamExact } from './support/read-clickstream.ts';
import { useTestServers } from './support/test-servers.ts';
import { startClickstream } from './support/watched-runner.ts';

const env = useTestServers('single', { bucket: 'rxa_single' });
const { names, database, bucket, config } = env;
const settings = { flushIntervalMs: 200, checkpointIntervalMs: 300, leaseTtlMs: 1_500 };

describe('one runner at a time', () => {
  it('a second runner or a reset waits, the runner takes over on a graceful stop, and a runner whose lease was taken stops without acking', async () => {
    const all = clickstreamInput({ count: 15_000, seed: 21 });
    const firstEnd = (await publishInput(env.nc, names.stream, names.subjectPrefix, all.slice(0, 5_000))).lastSeq;
    const first = startClickstream(names, settings, config);
    const secondLog: string[] = [];
    let second: ReturnType<typeof startClickstream> | undefined;
    try {
      await waitFor(() => (first.status()?.ackedSeq ?? 0) >= firstEnd, 60_000, 'the first runner to process the first part');
      // A reset waits for the running process instead of deleting its state from under it.
      const resetLog: string[] = [];
      const giveUp = AbortSignal.timeout(1_000);
      await expect(
        resetPipeline(config, createClickstreamPipeline({ ...names, settings }), { signal: giveUp, log: (m) => resetLog.push(m) }),
      ).rejects.toThrow();
      expect(resetLog).toEqual([expect.stringMatching(/^waiting for 'pipeline\.single_\w+': held by /)]);
      expect(await (await jetstreamManager(env.nc)).consumers.info(names.stream, names.name)).toBeDefined();
      second = startClickstream(names, settings, config, (m) => secondLog.push(m));
      const secondEnd = (await publishInput(env.nc, names.stream, names.subjectPrefix, all.slice(5_000, 10_000))).lastSeq;
      await waitFor(() => (first.status()?.ackedSeq ?? 0) >= secondEnd, 60_000, 'the first runner to process the second part');
      // Several lease periods later the second still waits: the first renews. The first renews every
      // third of the TTL: after nine renewals (three TTLs' worth, seen as writes of the lease key,
      // every one with the first's holder value), the second has not started.
      const key = pipelineCheckpointKey(names.name);
      const kv = await leaseStore(env.nc, leaseBucket(bucket));
      const holder = (await kv.get(key))?.string();
      const renewals = await watchKey(kv, key);
      try {
        await waitFor(() => renewals.writes.length >= 9, 30_000, 'the first runner to renew its lease nine times');
      } finally {
        renewals.stop();
      }
      expect(renewals.writes).toEqual(renewals.writes.map(() => holder));
      expect(second.status()).toBeUndefined();
      expect(secondLog).toEqual([expect.stringMatching(new RegExp(`^waiting for '${key}': held by `))]);

      expect((await first.stop()).ackedSeq).toBe(secondEnd);
      await waitFor(() => second!.status() !== undefined, 30_000, 'the second runner to start once the first stopped');
      expect(secondLog).toContain(`restored checkpoint at stream seq ${secondEnd}`);
      const end = (await publishInput(env.nc, names.stream, names.subjectPrefix, all.slice(10_000))).lastSeq;
      await waitFor(() => (second!.status()?.ackedSeq ?? 0) >= end, 60_000, 'the second runner to process the rest');

      // Another process takes the lease (as one would after this one stalled past the TTL).
      await kv.put(key, JSON.stringify({ id: 'other', host: 'elsewhere', pid: 1, since: Date.now() }));
      // Its next renewal (every third of the TTL) finds the key rewritten: it stops reading, and the
      // run ends on its own, before anything more is published.
      await waitFor(() => second!.ended(), 30_000, 'the second runner to stop on finding its lease taken');
      const later = clickstreamInput({ count: 1_000, seed: 22 });
      await publishInput(env.nc, names.stream, names.subjectPrefix, later);
      await expect(second.stop()).rejects.toThrow(/^lost the lease on '.*' \(its key was rewritten\): another process runs it now/);
      const consumer = await (await jetstreamManager(env.nc)).consumers.info(names.stream, names.name);
      expect(consumer.ack_floor.stream_seq).toBe(end);
      // Nothing of what came after the takeover was written either.
      await expectClickstreamExact(config.clickhouse, database, names.name, all);
    } finally {
      await first.dispose();
      await second?.dispose();
    }
  }, 180_000);
});
