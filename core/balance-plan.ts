import type { SeenKey } from './key-ages.ts';
import { type Holder, isGoneHere, parseHolder } from './lease.ts';

export interface BalanceInput {
  /** The pipeline's partitions. */
  count: number;
  /** This process's member id (core/membership.ts). */
  self: string;
  /** The live members sharing the partitions, this one included. */
  members: ReadonlySet<string>;
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
  /** floor(count / members): the least a process runs once balanced. */
  floor: number;
  /** Partitions to hand over, least preferred first. */
  handOver: number[];
  /** How many partitions to take, and the ones that may be taken, most preferred first. */
  wanted: number;
  candidates: Candidate[];
}

/**
 * What one process does at one balancing round (core/balancer.ts), so that every live process ends
 * with floor(P/N) or ceil(P/N) of the P partitions:
 *
 * - above ceil(P/N), hand the least preferred over;
 * - while another live process runs fewer than floor(P/N) (8 partitions on 5 processes: 2, 2, 2,
 *   2 and 0), the others take nothing, so the one short of its floor gets what is free; and when
 *   nothing is free, the one that runs the most (the lowest member id among equals, so only one
 *   does) hands one over;
 * - otherwise, below ceil(P/N), take free partitions and those whose holder is dead (its lease not
 *   renewed for the TTL by this process's clock, or a process of this host that is gone), most
 *   preferred first. Taking may fail (another process was quicker): the candidates are tried in
 *   order until `wanted` are taken.
 *
 * Who runs how many is read off the lease keys (each holder names its member), except for this
 * process, which knows its own runs.
 */
export function planBalance(input: BalanceInput): BalancePlan {
  const { count, self, members, running, here, now, ttlMs, prefer } = input;
  const goneHere = input.goneHere ?? isGoneHere;
  const n = Math.max(1, members.size);
  const share = Math.ceil(count / n);
  const floor = Math.floor(count / n);
  const leastPreferred = (k: number): number[] => [...running].sort((a, b) => prefer(a) - prefer(b) || a - b).slice(0, k);
  if (running.length > share) return { share, floor, handOver: leastPreferred(running.length - share), wanted: 0, candidates: [] };

  // Live holders per member, from the lease keys.
  const runs = new Map<string, number>([...members].map((m) => [m, 0]));
  runs.set(self, running.length);
  const candidates: Candidate[] = [];
  /** Partitions free, or about to be (dead holders, runs here being handed over): the one short can take those. */
  let available = [...here].filter((p) => !running.includes(p)).length;
  const order = Array.from({ length: count }, (_, p) => p).sort((a, b) => prefer(b) - prefer(a) || a - b);
  for (const partition of order) {
    const seen = input.lease(partition);
    if (seen === undefined || seen.value === undefined) {
      if (!here.has(partition)) {
        candidates.push({ partition });
        available++;
      }
      continue;
    }
    const holder = parseHolder(seen.value);
    const gone = holder !== undefined && goneHere(holder);
    if (gone || now - seen.since >= ttlMs) {
      if (!here.has(partition)) {
        candidates.push({ partition, stale: { revision: seen.revision, holder, why: gone ? 'gone' : 'expired' } });
        available++;
      }
    } else if (holder?.member !== undefined && holder.member !== self && runs.has(holder.member)) {
      runs.set(holder.member, runs.get(holder.member)! + 1);
    }
  }
  const short = [...runs].some(([member, n]) => member !== self && n < floor);
  if (short) {
    const most = Math.max(...runs.values());
    const giver = [...runs].filter(([, n]) => n === most).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))[0]![0];
    const handOver = giver === self && running.length > floor && available === 0 ? leastPreferred(1) : [];
    // Below its own floor a process still takes; at or above it, it leaves what is free to the one short.
    const wanted = running.length < floor ? floor - running.length : 0;
    return { share, floor, handOver, wanted, candidates: wanted > 0 ? candidates : [] };
  }
  const wanted = Math.max(0, share - running.length);
  return { share, floor, handOver: [], wanted, candidates: wanted > 0 ? candidates : [] };
}
