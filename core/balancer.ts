import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { errorMessage } from '../common/error-message.ts';
import { fnv1a32 } from '../common/fnv1a.ts';
import { planBalance } from './balance-plan.ts';
import { parseConfig } from './config.ts';
import { connectNats } from './connections.ts';
import { KeyAges } from './key-ages.ts';
import { Lease, LeaseLost, leaseBucket, leaseStore } from './lease.ts';
import { isMemberGoneHere, Membership, membersPrefix } from './membership.ts';
import { pipelineCheckpointKey, runTarget } from './partitions.ts';
import { type PipelineDefinition, PipelineSettings } from './pipeline.ts';
import { type PartitionResult, type RunPartitionsOptions, warnUncovered } from './run-partitions.ts';
import { runPipeline } from './runner.ts';

/** Which partitions this process runs, among how many live processes. */
export interface Assignment {
  /** Partitions run here (not counting those being handed over), ascending. */
  readonly held: readonly number[];
  /** Live processes sharing the pipeline, this one included. */
  readonly members: number;
  /** The pipeline's partitions. */
  readonly count: number;
}

export interface BalancedRunOptions extends Omit<RunPartitionsOptions, 'partitions'> {
  /** Told whenever the partitions run here change. */
  onAssignment?: (assignment: Assignment) => void;
  /** Told when a partition's run ends here (handed over, taken over, or stopped). */
  onReleased?: (partition: number) => void;
}

/** One partition run here. */
interface Held {
  readonly stop: AbortController;
  /** Being handed over: its run is stopping gracefully. */
  handingOver: boolean;
  /** The run has ended and its lease is released. */
  readonly done: Promise<void>;
}

/**
 * Run a partitioned pipeline's partitions shared among every process that runs it this way, with
 * NATS doing the coordination: no coordinator of our own, only the partitions' leases (core/lease.ts)
 * and a key per process (core/membership.ts), both in the lease bucket, watched by every process.
 *
 * Every third of the lease TTL each process counts the live processes N (keys rewritten within the
 * TTL) and its share, ceil(P / N):
 *
 * - below it, it takes free partitions (no lease) and those whose lease has not been renewed for the
 *   TTL (their holder died; compare-and-set on the revision it saw standing), most preferred first,
 *   and runs each (`runPipeline` with that lease: it restores the checkpoint and claims it);
 * - above it, it hands its least preferred partitions over: their runs stop gracefully (last cut,
 *   checkpoint, ack) and release their lease, which a process below its share then takes.
 *
 * Preferences are a hash of process and partition, so processes do not all reach for the same free
 * partition, and a process keeps the ones it prefers. A lease is taken with compare-and-set, so two
 * processes never run one partition; the checkpoint is fenced besides (core/latest-checkpoint.ts).
 *
 * A run that loses its lease ends (logged) and the process goes on; any other failure stops every
 * run here gracefully and is thrown, as with `runPartitions`.
 */
export async function runBalanced(definition: PipelineDefinition, options: BalancedRunOptions): Promise<PartitionResult[]> {
  const count = definition.source.partitions?.count;
  if (count === undefined) throw new Error(`pipeline '${definition.name}' is not partitioned: there is nothing to balance`);
  const { leaseTtlMs } = parseConfig(PipelineSettings, definition.settings ?? {}, `pipeline '${definition.name}' settings`);
  const log = options.onLog ?? (() => {});
  await warnUncovered(definition, options, log);
  const nc = await connectNats(options.config, `rxa:${definition.name}:balance`);
  try {
    return await shareOn(nc, definition, count, leaseTtlMs, options, log);
  } finally {
    await nc.close();
  }
}

async function shareOn(
  nc: NatsConnection,
  definition: PipelineDefinition,
  count: number,
  leaseTtlMs: number,
  options: BalancedRunOptions,
  log: (message: string) => void,
): Promise<PartitionResult[]> {
  const bucket = leaseBucket(options.config.checkpointBucket);
  const replicas = options.config.nats.streamReplicas;
  const kv = await leaseStore(nc, bucket, replicas);
  const membersKey = `${membersPrefix(definition.name)}.`;
  const leases = await KeyAges.watch(kv, `${pipelineCheckpointKey(definition.name)}.*`);
  let membership: Membership;
  let members: KeyAges;
  try {
    membership = await Membership.join(kv, definition.name, leaseTtlMs, log);
    members = await KeyAges.watch(kv, `${membersKey}*`).catch(async (error: unknown) => {
      await membership.leave();
      throw error;
    });
  } catch (error) {
    leases.stop();
    throw error;
  }
  const held = new Map<number, Held>();
  const results: PartitionResult[] = [];
  let failure: { error: unknown } | undefined;
  const failed = new AbortController();
  const stopped = AbortSignal.any([options.signal, failed.signal]);
  const prefer = (p: number): number => fnv1a32(`${membership.id}:${p}`);
  let announced = '';

  const assignment = (live: number): Assignment => ({
    held: [...held]
      .filter(([, h]) => !h.handingOver)
      .map(([p]) => p)
      .sort((a, b) => a - b),
    members: live,
    count,
  });

  const start = (partition: number, lease: Lease): void => {
    const stop = new AbortController();
    const prefix = `[p${partition}] `;
    const done = runPipeline(definition, {
      ...options,
      signal: stop.signal,
      partition,
      lease,
      onStatus: (status) => options.onStatus?.(status, runTarget(definition, partition)),
      onLog: (message) => log(`${prefix}${message}`),
    }).then(
      (status): PartitionResult => ({ target: runTarget(definition, partition), status }),
      (error: unknown) => {
        if (error instanceof LeaseLost) {
          log(`${prefix}${error.message}`);
          return undefined;
        }
        failure ??= { error };
        failed.abort();
        return undefined;
      },
    );
    const entry: Held = {
      stop,
      handingOver: false,
      done: done.then(async () => {
        // Released by the run already, unless it failed before it took the lease over.
        await lease.release();
        if (held.get(partition) === entry) held.delete(partition);
        options.onReleased?.(partition);
      }),
    };
    held.set(partition, entry);
    void done.then((result) => {
      if (result && options.signal.aborted) results.push(result);
    });
  };

  const balance = async (): Promise<void> => {
    const now = performance.now();
    const live = new Set([membership.id]);
    for (const [key, seen] of members.entries()) {
      if (seen.value === undefined) continue;
      if (now - seen.since < leaseTtlMs && !isMemberGoneHere(seen.value)) live.add(key.slice(membersKey.length));
      // A member dead for the TTL: remove its key (compare-and-set, in case it came back), so those who start later do not count it.
      else await kv.delete(key, { previousSeq: seen.revision }).catch(() => {});
    }
    const running = [...held].filter(([, h]) => !h.handingOver).map(([p]) => p);
    const plan = planBalance({
      count,
      self: membership.id,
      members: live,
      running,
      here: new Set(held.keys()),
      lease: (p) => leases.get(pipelineCheckpointKey(definition.name, p)),
      now,
      ttlMs: leaseTtlMs,
      prefer,
    });
    if (plan.handOver.length > 0) {
      const each = plan.share === plan.floor ? `${plan.share} each` : `${plan.floor} or ${plan.share} each`;
      log(`${live.size} processes share ${count} partitions (${each}): handing over ${plan.handOver.map((p) => `p${p}`).join(', ')}`);
      for (const p of plan.handOver) {
        const h = held.get(p)!;
        h.handingOver = true;
        h.stop.abort();
      }
    }
    let wanted = plan.wanted;
    for (const { partition: p, stale } of plan.candidates) {
      if (wanted === 0 || stopped.aborted) break;
      const lease = await Lease.take(nc, bucket, pipelineCheckpointKey(definition.name, p), {
        ttlMs: leaseTtlMs,
        log: (message) => log(`[p${p}] ${message}`),
        member: membership.id,
        stale: stale?.revision,
        replicas,
      });
      if (!lease) continue;
      const holder = stale?.holder;
      const why = stale?.why === 'gone' ? 'that process is gone' : `not renewed for ${leaseTtlMs} ms`;
      log(`took p${p}${holder ? ` over from ${holder.host} pid ${holder.pid} (${why})` : stale ? ` over from an unknown holder (${why})` : ''}`);
      wanted--;
      start(p, lease);
    }
    const current = assignment(live.size);
    const text = JSON.stringify(current);
    if (text !== announced) {
      announced = text;
      options.onAssignment?.(current);
    }
  };

  log(`balancing ${count} partitions among the processes running '${definition.name}' (this one: ${hostname()} pid ${process.pid}, member ${membership.id})`);
  try {
    // Decide only once the members there were at start are known (this one's key is among them):
    // a process starting beside running ones takes only its share.
    await Promise.race([members.ready, new Promise((resolve) => stopped.addEventListener('abort', resolve, { once: true }))]);
    while (!stopped.aborted) {
      // NATS unreachable for a moment: the leases held are renewed or lost on their own; try again next round.
      await balance().catch((error: unknown) => log(`balancing failed (will retry): ${errorMessage(error)}`));
      await sleep(leaseTtlMs / 3, undefined, { signal: stopped }).catch(() => {});
    }
  } finally {
    // Out first, so the others count without this process while its runs hand their partitions over.
    await membership.leave();
    for (const h of held.values()) h.stop.abort();
    await Promise.all([...held.values()].map((h) => h.done));
    members.stop();
    leases.stop();
  }
  if (failure) throw failure.error;
  return results.sort((a, b) => (a.target.partition ?? 0) - (b.target.partition ?? 0));
}
