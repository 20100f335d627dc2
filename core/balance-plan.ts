import type { SeenKey } from './key-ages.ts';
import { type Holder, isGoneHere, parseHolder } from './lease.ts';

export interface BalanceInput {
  /** The pipeline's partitions. */
  count: number;
  /** Live processes sharing them, this one included. */
  members: number;
  /** Partitions run here, not counting those being handed over. */
  running: readonly number[];
  /** Partitions with a run here, those being handed over included: never taken again meanwhile. */
  here: ReadonlySet<number>;
  /** A partition's lease key as last seen (core/key-ages.ts). */
  lease: (partition: number) => SeenKey | undefined;
  /** `performance.now()`, the clock of the `since` of `lease`. */
  now: number;
  ttlMs: number;
  /** This process's preference for a partition: higher is taken first and given up last. */
  prefer: (partition: number) => number;
  /** @default isGoneHere: a holder of this host whose process is gone */
  goneHere?: (holder: Holder) => boolean;
}

/** A partition to try to take: free, or stale (compare-and-set on the revision seen). */
export interface Candidate {
  partition: number;
  stale?: { revision: number; holder: Holder | undefined; why: 'gone' | 'expired' };
}

export interface BalancePlan {
  /** ceil(count / members): the most a process runs. */
  share: number;
  /** Partitions to hand over (least preferred first): this process runs more than its share. */
  handOver: number[];
  /** How many partitions to take (below the share), and the ones that may be taken, most preferred first. */
  wanted: number;
  candidates: Candidate[];
}

/**
 * What one process does at one balancing round (core/balancer.ts): above its share of the
 * partitions, hand the least preferred over; below it, take free partitions and those whose holder
 * is dead (its lease not renewed for the TTL by this process's clock, or a process of this host that
 * is gone), most preferred first. Taking may fail (another process was quicker): the candidates are
 * tried in order until `wanted` are taken.
 */
export function planBalance(input: BalanceInput): BalancePlan {
  const { count, members, running, here, now, ttlMs, prefer } = input;
  const goneHere = input.goneHere ?? isGoneHere;
  const share = Math.ceil(count / Math.max(1, members));
  if (running.length > share) {
    const handOver = [...running].sort((a, b) => prefer(a) - prefer(b) || a - b).slice(0, running.length - share);
    return { share, handOver, wanted: 0, candidates: [] };
  }
  const candidates: Candidate[] = [];
  if (running.length < share) {
    const order = Array.from({ length: count }, (_, p) => p)
      .filter((p) => !here.has(p))
      .sort((a, b) => prefer(b) - prefer(a) || a - b);
    for (const partition of order) {
      const seen = input.lease(partition);
      if (seen === undefined || seen.value === undefined) {
        candidates.push({ partition });
        continue;
      }
      const holder = parseHolder(seen.value);
      const gone = holder !== undefined && goneHere(holder);
      if (gone || now - seen.since >= ttlMs) candidates.push({ partition, stale: { revision: seen.revision, holder, why: gone ? 'gone' : 'expired' } });
    }
  }
  return { share, handOver: [], wanted: Math.max(0, share - running.length), candidates };
}
