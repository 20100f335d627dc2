import { describe, expect, it } from 'vitest';
import { planBalance } from './balance-plan.ts';
import type { SeenKey } from './key-ages.ts';

const TTL = 1_500;
const NOW = 10_000;
/** A lease key's value: held by process `pid` for member `member`. */
const holder = (pid: number, member?: string): string =>
  JSON.stringify({ id: `lease-${pid}`, host: 'elsewhere', pid, since: 0, ...(member ? { member } : {}) });
const live = (value: string): SeenKey => ({ value, revision: 1, since: NOW - 100 });
/** Preference: partition 7 most preferred, 0 least. */
const prefer = (p: number): number => p;

function plan(members: string[], running: number[], leases: Record<number, SeenKey> = {}, here: number[] = running) {
  return planBalance({
    count: 8,
    self: 'me',
    members: new Set(['me', ...members]),
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
    expect(plan([], [])).toEqual({ share: 8, floor: 8, handOver: [], wanted: 8, candidates: [7, 6, 5, 4, 3, 2, 1, 0].map((partition) => ({ partition })) });
  });

  it('a second process joined: hands the least preferred 4 of its 8 over; a third: down to 3', () => {
    const all = [0, 1, 2, 3, 4, 5, 6, 7];
    expect(plan(['b'], all)).toEqual({ share: 4, floor: 4, handOver: [0, 1, 2, 3], wanted: 0, candidates: [] });
    expect(plan(['b', 'c'], [4, 5, 6, 7])).toMatchObject({ share: 3, floor: 2, handOver: [4] });
    const others = { 0: live(holder(2, 'b')), 1: live(holder(2, 'b')), 2: live(holder(2, 'b')), 3: live(holder(3, 'c')), 4: live(holder(3, 'c')) };
    expect(plan(['b', 'c'], [5, 6, 7], others)).toEqual({ share: 3, floor: 2, handOver: [], wanted: 0, candidates: [] });
  });

  it('below its share: takes free partitions and those of dead holders, not live ones, nor its own being handed over', () => {
    const leases: Record<number, SeenKey> = {
      7: live(holder(1, 'b')), // renewed just now
      6: { value: holder(2), revision: 60, since: NOW - TTL }, // not renewed for the TTL: dead
      5: { value: undefined, revision: 50, since: NOW - 100 }, // released (deleted)
      4: { value: holder(666), revision: 40, since: NOW - 10 }, // a process of this host that is gone
      3: live(holder(1, 'b')),
      2: live(holder(1, 'b')),
      1: live(holder(1, 'b')),
    };
    // Runs 0 and is handing 3 over (a run here still ending): 3 is not taken back.
    expect(plan(['b'], [0], leases, [0, 3])).toEqual({
      share: 4,
      floor: 4,
      handOver: [],
      wanted: 3,
      candidates: [
        { partition: 6, stale: { revision: 60, holder: JSON.parse(holder(2)), why: 'expired' } },
        { partition: 5 },
        { partition: 4, stale: { revision: 40, holder: JSON.parse(holder(666)), why: 'gone' } },
      ],
    });
  });

  it('8 partitions on 5 processes, one with none: the one running most (lowest id among equals) hands one over, the others leave it to the one short', () => {
    // 'me' runs 0 and 1; a, b and c run two each; d runs none.
    const leases: Record<number, SeenKey> = {
      2: live(holder(1, 'a')),
      3: live(holder(1, 'a')),
      4: live(holder(2, 'b')),
      5: live(holder(2, 'b')),
      6: live(holder(3, 'c')),
    };
    const members = ['a', 'b', 'c', 'd'];
    // 7 is free (its holder just handed it over), yet 'me' (at its floor of 1) leaves it to d.
    expect(plan(members, [0, 1], leases)).toEqual({ share: 2, floor: 1, handOver: [], wanted: 0, candidates: [] });
    // With c's second partition held, 'a' runs as many as 'me' and has the lowest id: 'a' gives one, not 'me'.
    const full = { ...leases, 7: live(holder(3, 'c')) };
    expect(plan(members, [0, 1], full).handOver).toEqual([]);
    const asLowest = planBalance({
      count: 8,
      self: 'a',
      members: new Set(['a', 'b', 'c', 'd', 'e']),
      running: [2, 3],
      here: new Set([2, 3]),
      lease: (p) =>
        ({
          0: live(holder(5, 'e')),
          1: live(holder(5, 'e')),
          4: live(holder(2, 'b')),
          5: live(holder(2, 'b')),
          6: live(holder(3, 'c')),
          7: live(holder(3, 'c')),
        })[p],
      now: NOW,
      ttlMs: TTL,
      prefer,
    });
    expect(asLowest).toMatchObject({ share: 2, floor: 1, handOver: [2], wanted: 0 });
    // Not while something is free (d takes that), nor while a partition of its own is being handed over.
    const withFree = (p: number) =>
      p === 7 ? undefined : { 0: live(holder(5, 'e')), 1: live(holder(5, 'e')), 4: live(holder(2, 'b')), 5: live(holder(2, 'b')), 6: live(holder(3, 'c')) }[p];
    expect(
      planBalance({
        count: 8,
        self: 'a',
        members: new Set(['a', 'b', 'c', 'd', 'e']),
        running: [2, 3],
        here: new Set([2, 3]),
        lease: withFree,
        now: NOW,
        ttlMs: TTL,
        prefer,
      }).handOver,
    ).toEqual([]);
    // d itself, short of its floor, takes what is free.
    const held: Record<number, SeenKey> = {
      0: live(holder(5, 'e')),
      1: live(holder(5, 'e')),
      2: live(holder(1, 'a')),
      4: live(holder(2, 'b')),
      5: live(holder(2, 'b')),
      6: live(holder(3, 'c')),
      7: live(holder(3, 'c')),
    };
    const d = planBalance({
      count: 8,
      self: 'd',
      members: new Set(['a', 'b', 'c', 'd', 'e']),
      running: [],
      here: new Set(),
      lease: (p) => held[p],
      now: NOW,
      ttlMs: TTL,
      prefer,
    });
    expect(d).toMatchObject({ wanted: 2, candidates: [{ partition: 3 }] });
  });

  it('9 partitions on 2 processes: 5 and 4', () => {
    const b = live(holder(2, 'b'));
    const leases: Record<number, SeenKey> = { 4: b, 5: b, 6: b, 7: b };
    const nine = planBalance({
      count: 9,
      self: 'me',
      members: new Set(['me', 'b']),
      running: [0, 1, 2, 3],
      here: new Set([0, 1, 2, 3]),
      lease: (p) => leases[p],
      now: NOW,
      ttlMs: TTL,
      prefer,
    });
    expect(nine).toEqual({ share: 5, floor: 4, handOver: [], wanted: 1, candidates: [{ partition: 8 }] });
    // Once it runs 5, b's 4 is its floor: balanced.
    expect(
      planBalance({
        count: 9,
        self: 'me',
        members: new Set(['me', 'b']),
        running: [0, 1, 2, 3, 8],
        here: new Set([0, 1, 2, 3, 8]),
        lease: (p) => leases[p],
        now: NOW,
        ttlMs: TTL,
        prefer,
      }),
    ).toMatchObject({ handOver: [], wanted: 0 });
  });
});
