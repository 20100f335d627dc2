import { describe, expect, it } from 'vitest';
import { planBalance } from './balance-plan.ts';
import type { SeenKey } from './key-ages.ts';

const TTL = 1_500;
const NOW = 10_000;
const holder = (pid: number): string => JSON.stringify({ id: `lease-${pid}`, host: 'elsewhere', pid, since: 0 });
/** Preference: partition 7 most preferred, 0 least. */
const prefer = (p: number): number => p;

function plan(members: number, running: number[], leases: Record<number, SeenKey> = {}, here: number[] = running) {
  return planBalance({
    count: 8,
    members,
    running,
    here: new Set(here),
    lease: (p) => leases[p],
    now: NOW,
    ttlMs: TTL,
    prefer,
    goneHere: (h) => h.pid === 666,
  });
}

describe('planBalance', () => {
  it('alone with no leases: takes all 8, most preferred first', () => {
    expect(plan(1, [])).toEqual({ share: 8, handOver: [], wanted: 8, candidates: [7, 6, 5, 4, 3, 2, 1, 0].map((partition) => ({ partition })) });
  });

  it('a second process joined: hands the least preferred 4 of its 8 over; a third: down to 3', () => {
    const all = [0, 1, 2, 3, 4, 5, 6, 7];
    expect(plan(2, all)).toEqual({ share: 4, handOver: [0, 1, 2, 3], wanted: 0, candidates: [] });
    expect(plan(3, [4, 5, 6, 7])).toMatchObject({ share: 3, handOver: [4] });
    expect(plan(3, [5, 6, 7])).toEqual({ share: 3, handOver: [], wanted: 0, candidates: [] });
  });

  it('below its share: takes free partitions and those of dead holders, not live ones, nor its own being handed over', () => {
    const leases: Record<number, SeenKey> = {
      7: { value: holder(1), revision: 70, since: NOW - 100 }, // renewed just now: live
      6: { value: holder(2), revision: 60, since: NOW - TTL }, // not renewed for the TTL: dead
      5: { value: undefined, revision: 50, since: NOW - 100 }, // released (deleted)
      4: { value: holder(666), revision: 40, since: NOW - 10 }, // a process of this host that is gone
      3: { value: holder(3), revision: 30, since: NOW - 10 },
      2: { value: holder(3), revision: 20, since: NOW - 10 },
      1: { value: holder(3), revision: 10, since: NOW - 10 },
    };
    // Runs 0 and is handing 3 over (a run here still ending): 3 is not taken back.
    expect(plan(2, [0], leases, [0, 3])).toEqual({
      share: 4,
      handOver: [],
      wanted: 3,
      candidates: [
        { partition: 6, stale: { revision: 60, holder: JSON.parse(holder(2)), why: 'expired' } },
        { partition: 5 },
        { partition: 4, stale: { revision: 40, holder: JSON.parse(holder(666)), why: 'gone' } },
      ],
    });
  });

  it('9 partitions on 2 processes: at most 5 each, so 5 and 4 is balanced', () => {
    const nine = planBalance({
      count: 9,
      members: 2,
      running: [0, 1, 2, 3],
      here: new Set([0, 1, 2, 3]),
      lease: () => undefined,
      now: NOW,
      ttlMs: TTL,
      prefer,
    });
    expect(nine.share).toBe(5);
    expect(nine.wanted).toBe(1);
  });
});
