import { type Observable, of, take } from 'rxjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { combine } from '../aggregators/combine.ts';
import { count } from '../aggregators/count.ts';
import { distinct } from '../aggregators/distinct.ts';
import { max } from '../aggregators/max.ts';
import { sum } from '../aggregators/sum.ts';
import { topK } from '../aggregators/top-k.ts';
import { runInScope } from '../state/operator-scope.ts';
import type { Step } from '../test/support/operator-harness.ts';
import { countResult, drive, expectRestoreEquivalence, FakeScope, newScheduler } from '../test/support/operator-harness.ts';
import { seededRandom } from '../test/support/seeded-random.ts';
import type { WindowResult } from '../windows/window-types.ts';
import type { HoppingOptions } from './hopping.ts';
import { hopping } from './hopping.ts';

interface Ev {
  readonly k: string;
  readonly t: number;
  readonly u?: string;
}

const e = (t: number, k = ''): Ev => ({ k, t });
const step = (t: number, k = ''): Step<Ev> => ({ event: e(t, k) });
const w = countResult;

function counting(over: Partial<HoppingOptions<Ev, string, number, number>> = {}) {
  return hopping<Ev, string, number, number>({
    id: 'h',
    sizeMs: 10,
    slideMs: 5,
    time: (x) => x.t,
    key: (x) => x.k,
    aggregate: count(),
    ...over,
  });
}

describe('hopping', () => {
  it('adds each event to every overlapping window and fires them in end order', () => {
    runInScope(new FakeScope(), () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const source = cold('abc|', { a: e(1), b: e(7), c: e(12) });
        // 1 -> [-5, 5) [0, 10); 7 -> [0, 10) [5, 15); 12 -> [5, 15) [10, 20).
        expectObservable(source.pipe(counting())).toBe('-xy(zv|)', {
          x: w('', -5, 5, 1, true), // the watermark reached 7 > 5
          y: w('', 0, 10, 2, true), // the watermark reached 12
          z: w('', 5, 15, 2, true),
          v: w('', 10, 20, 1, true),
        });
      }),
    );
  });

  it('covers exactly the windows with start <= t < start + size, also when size is not a multiple of slide', () => {
    const { out } = drive(counting({ sizeMs: 10, slideMs: 3, maxOutOfOrderMs: 100 }), 'h', [step(7), step(9)]);
    expect(out).toEqual([
      w('', 0, 10, 2, true),
      w('', 3, 13, 2, true),
      w('', 6, 16, 2, true),
      w('', 9, 19, 1, true), // 9 is on its start boundary; 7 is not in it
    ]);
  });

  it('adds a late event to its windows still alive and side-outputs it only when all are purged', () => {
    const late = e(3);
    const { log, scope } = drive(counting(), 'h', [step(14), step(8), step(20), { event: late }]);
    expect(log).toEqual([
      // 14 opens [5, 15) and [10, 20); the watermark (14) fires nothing.
      // 8 belongs to [0, 10), purged (end 10 <= 14), and [5, 15), alive: added there, not late.
      { out: w('', 5, 15, 2, true) }, // 20: watermark 20
      { out: w('', 10, 20, 1, true) },
      { side: { kind: 'late', stage: 'h', event: late, eventTime: 3, watermark: 20 } },
      { out: w('', 15, 25, 1, true) },
      { out: w('', 20, 30, 1, true) },
    ]);
    expect(scope.handle('h').stats?.()).toMatchObject({ in: 4, late: 1, windowsOpen: 0, fired: 4 });
  });

  it('counts distinct users per overlapping window with flush() early results', () => {
    const agg = combine({ users: distinct((x: Ev) => x.u), events: count<Ev>() });
    const { out } = drive(hopping({ id: 'h', sizeMs: 10, slideMs: 5, time: (x: Ev) => x.t, aggregate: agg }), 'h', [
      { event: { k: '', t: 6, u: 'a' } },
      'flush',
      { event: { k: '', t: 8, u: 'b' } },
      { event: { k: '', t: 11, u: 'a' } },
      'flush',
    ]);
    expect(out.map((r) => [r.start, r.value.users, r.count, r.final])).toEqual([
      [0, 1, 1, false],
      [5, 1, 1, false],
      [0, 2, 2, true], // fired by 11
      [5, 2, 3, false], // flush
      [10, 1, 1, false],
      [5, 2, 3, true], // completion
      [10, 1, 1, true],
    ]);
  });

  it('restores from a snapshot and produces the same output as an uninterrupted run', () => {
    const random = seededRandom(11);
    const rand = (): number => random.float();
    const steps: Array<Step<Ev>> = [];
    for (let i = 0; i < 400; i++) {
      steps.push(step(i * 2 - Math.floor(rand() * 50), `k${Math.floor(rand() * 3)}`));
      if (i % 5 === 0) steps.push('flush');
    }
    const make = () => counting({ sizeMs: 20, slideMs: 5, maxOutOfOrderMs: 10, allowedLatenessMs: 10 });
    const whole = expectRestoreEquivalence(make, 'h', steps, [0, 3, 50, 51, 52, 211, 300, steps.length], (a, b) => expect(a).toEqual(b));
    expect(whole.sides.length).toBeGreaterThan(5);
  });

  describe('states per pane', () => {
    interface Visit {
      readonly k: string;
      readonly t: number;
      readonly u: string;
      readonly page?: string;
      readonly price: number;
    }
    const aggregate = () =>
      combine({
        users: distinct((v: Visit) => v.u),
        pages: topK((v: Visit) => v.page, 3),
        visits: count<Visit>(),
        revenue: sum((v: Visit) => v.price),
        top: max((v: Visit) => v.price),
      });
    type Aggregate = ReturnType<typeof aggregate>;
    /** The same aggregator without panes: each window keeps a state of its own, as before panes. */
    const perWindow = (): Aggregate => {
      const { panes: _, ...rest } = aggregate();
      return rest;
    };
    const visits = (seed: number, n: number, jumps = false): Array<Step<Visit>> => {
      const random = seededRandom(seed);
      const steps: Array<Step<Visit>> = [];
      for (let i = 0; i < n; i++) {
        // Mostly in order, some far behind (late, or later than the allowed lateness), and two jumps
        // ahead by more panes than the open windows usually span.
        const behind = random.float() < 0.1 ? random.int(120) : random.int(8);
        const t = i * 3 - behind + (jumps && i >= n / 3 ? 700 : 0) + (jumps && i >= (2 * n) / 3 ? 13_000 : 0);
        const page = random.float() < 0.5 ? `/p${random.int(6)}` : undefined;
        steps.push({ event: { k: `k${random.int(3)}`, t, u: `u${random.int(40)}`, ...(page ? { page } : {}), price: random.int(100) } });
        if (random.float() < 0.05) steps.push('flush');
        if (random.float() < 0.02) steps.push('snapshot');
      }
      return steps;
    };
    const windows = (agg: Aggregate) =>
      hopping({ id: 'h', sizeMs: 50, slideMs: 10, time: (v: Visit) => v.t, key: (v) => v.k, maxOutOfOrderMs: 6, allowedLatenessMs: 30, aggregate: agg });

    it('emits what windows keeping a state each emit, late events, flushes and all', () => {
      for (const seed of [1, 2, 3]) {
        const steps = visits(seed, 1500, true);
        const paned = drive(windows(aggregate()), 'h', [...steps, 'snapshot'], { complete: false });
        const each = drive(windows(perWindow()), 'h', [...steps, 'snapshot'], { complete: false });
        expect(paned.log).toEqual(each.log);
        expect(paned.out.length).toBeGreaterThan(500);
        expect(paned.sides.filter((s) => s.kind === 'late').length).toBeGreaterThan(10);
        // The runs did keep their states differently.
        expect(paned.snapshot).toHaveProperty('panes');
        expect(each.snapshot).not.toHaveProperty('panes');
        expect(each.snapshot).toHaveProperty('accs');
        // Completion closes every window the same way.
        expect(drive(windows(aggregate()), 'h', steps).log).toEqual(drive(windows(perWindow()), 'h', steps).log);
      }
    });

    it('restores its panes and produces the same output as an uninterrupted run', () => {
      const steps = visits(4, 600, true);
      expectRestoreEquivalence(
        () => windows(aggregate()),
        'h',
        steps,
        [1, 57, 58, 301, 444, steps.length],
        (a, b) => expect(a).toEqual(b),
      );
    });

    it('restores windows that kept a state each (an earlier build), and keeps states per pane for keys whose windows are new', () => {
      const steps = visits(5, 800);
      const whole = drive(windows(perWindow()), 'h', steps);
      const cut = 400;
      const before = drive(windows(perWindow()), 'h', [...steps.slice(0, cut), 'snapshot'], { complete: false });
      const after = drive(windows(aggregate()), 'h', steps.slice(cut), { restored: before.snapshot });
      expect([...before.log, ...after.log]).toEqual(whole.log);
      // A key keeps a state per window while it has windows from the checkpoint, and panes after.
      const mixed = drive(windows(aggregate()), 'h', [{ event: { k: 'k9', t: 1_150, u: 'x', price: 1 } }, 'snapshot'], {
        restored: before.snapshot,
        complete: false,
      });
      expect((mixed.snapshot as { panes: unknown[] }).panes.filter((p) => p === null).length).toBeGreaterThan(0);
      expect((mixed.snapshot as { panes: unknown[] }).panes.filter((p) => p !== null).length).toBe(1);
      const moved = [{ event: { k: 'k9', t: 10_000, u: 'x', price: 1 } }, { event: { k: 'k0', t: 10_001, u: 'y', price: 2 } }, 'snapshot'] as const;
      const drained = drive(windows(aggregate()), 'h', moved, { restored: before.snapshot, complete: false });
      expect(drained.snapshot).toMatchObject({ panes: [expect.anything(), expect.anything()] });
      expect(drained.snapshot).not.toHaveProperty('accs');
    });

    it('restores a checkpoint where some keys keep a state per window and others panes', () => {
      // New keys after the first cut get panes while the old ones keep a state per window.
      const steps = visits(7, 900).map((s, i) => (i > 300 && typeof s === 'object' && i % 2 === 1 ? { event: { ...s.event, k: `n${s.event.k}` } } : s));
      const whole = drive(windows(perWindow()), 'h', steps);
      const first = drive(windows(perWindow()), 'h', [...steps.slice(0, 300), 'snapshot'], { complete: false });
      const second = drive(windows(aggregate()), 'h', [...steps.slice(300, 500), 'snapshot'], { restored: first.snapshot, complete: false });
      const { panes, accs } = second.snapshot as { panes: unknown[]; accs: unknown[] };
      expect(panes.some((p) => p === null) && panes.some((p) => p !== null)).toBe(true);
      // Windows of keys with panes carry null: a build without panes, which reads only accs, refuses the snapshot.
      expect(accs.some((a) => a === null) && accs.some((a) => a !== null)).toBe(true);
      const { panes: _, ...asSeenWithoutPanes } = second.snapshot as Record<string, unknown>;
      expect(drive(windows(perWindow()), 'h', [], { restored: asSeenWithoutPanes }).error).toBeInstanceOf(Error);
      const third = drive(windows(aggregate()), 'h', steps.slice(500), { restored: second.snapshot });
      expect([...first.log, ...second.log, ...third.log]).toEqual(whole.log);
    });

    it('keeps a state per window when windows reach back more panes than a distinct mask holds', () => {
      const far = hopping({ id: 'h', sizeMs: 50, slideMs: 10, time: (v: Visit) => v.t, maxOutOfOrderMs: 6, allowedLatenessMs: 300, aggregate: aggregate() });
      const steps = visits(6, 300);
      const { snapshot, log } = drive(far, 'h', [...steps, 'snapshot'], { complete: false });
      expect(snapshot).not.toHaveProperty('panes');
      const each = hopping({ id: 'h', sizeMs: 50, slideMs: 10, time: (v: Visit) => v.t, maxOutOfOrderMs: 6, allowedLatenessMs: 300, aggregate: perWindow() });
      expect(log).toEqual(drive(each, 'h', [...steps, 'snapshot'], { complete: false }).log);
    });
  });

  it('validates size and slide', () => {
    expect(() => counting({ slideMs: 0 })).toThrow(/slideMs/);
    expect(() => counting({ slideMs: 11 })).toThrow(/slideMs/);
    expect(() => counting({ sizeMs: -1 })).toThrow(/sizeMs/);
  });

  it('handles empty, never, errors, early unsubscribe and downstream take', () => {
    runInScope(new FakeScope(), () =>
      newScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
        expectObservable(cold<Ev>('|').pipe(counting())).toBe('|');
        expectObservable(cold<Ev>('-').pipe(counting())).toBe('-');
        const failing = cold<Ev>('a#', { a: e(1) }, new Error('boom'));
        expectObservable(failing.pipe(counting())).toBe('-#', undefined, new Error('boom'));
        expectSubscriptions(failing.subscriptions).toBe('^!');

        const source = hot('-a-b-|', { a: e(1), b: e(30) });
        expectObservable(source.pipe(counting()), '^-!').toBe('--');
        expectObservable(source.pipe(counting(), take(1))).toBe('---(x|)', { x: w('', -5, 5, 1, true) });
        expectSubscriptions(source.subscriptions).toBe(['^-!', '^--!']);
      }),
    );
  });

  it('infers event, key and result types inside pipe() without annotations', () => {
    interface PageEvent {
      readonly user: string;
      readonly page?: string;
      readonly price?: number;
      readonly ts: number;
    }
    const source: Observable<PageEvent> = of();
    // A shared, pre-typed time extractor (as pipelines spread it) must not pin T to { ts: number }.
    const eventTime = { time: (e: { ts: number }) => e.ts, maxOutOfOrderMs: 5 };
    const users = source.pipe(
      hopping({ sizeMs: 10, slideMs: 5, key: (e) => e.user, aggregate: combine({ users: distinct((e: PageEvent) => e.user) }), ...eventTime }),
    );
    expectTypeOf(users).toEqualTypeOf<Observable<WindowResult<string, { users: number }>>>();
  });
});
