import { describe, expect, it } from 'vitest';
import { Subject } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import { combine, count, distinct, sum, topK } from './aggregators.ts';
import { DeferredSnapshot } from './deferred-snapshot.ts';
import { hopping } from './hopping.ts';
import { runInScope } from './scope.ts';
import { session } from './session.ts';
import { FakeScope } from './testing.ts';
import { tumbling } from './tumbling.ts';

interface Ev {
  readonly k: string;
  readonly t: number;
  readonly v: number;
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Events of 1,500 keys, time moving ~3 ms per event, 5% up to 400 ms out of order, 1% far behind. */
function events(n: number, seed: number): Ev[] {
  const rnd = random(seed);
  const out: Ev[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const t = Math.floor(i * 3 - (r < 0.05 ? rnd() * 400 : r < 0.06 ? 2_000 + rnd() * 3_000 : 0));
    out.push({ k: `k${Math.floor(rnd() * 1_500)}`, t, v: Math.floor(rnd() * 100) });
  }
  return out;
}

const time = (e: Ev): number => e.t;
const key = (e: Ev): string => e.k;

/** One of each window kind, with aggregators that checkpoint as columns and as JSON. */
const operators: Record<string, () => OperatorFunction<Ev, unknown>> = {
  'session (columns)': () =>
    session({ id: 'w', gapMs: 200, time, key, maxOutOfOrderMs: 50, allowedLatenessMs: 3_000, aggregate: combine({ n: count(), total: sum((e: Ev) => e.v) }) }),
  'session (JSON states)': () =>
    session({ id: 'w', gapMs: 200, time, key, maxOutOfOrderMs: 50, allowedLatenessMs: 3_000, aggregate: combine({ n: count(), top: topK((e: Ev) => String(e.v % 7), 2) }) }),
  'tumbling per key': () => tumbling({ id: 'w', sizeMs: 100, time, key, maxOutOfOrderMs: 50, allowedLatenessMs: 5_000, aggregate: sum((e: Ev) => e.v) }),
  hopping: () =>
    hopping({ id: 'w', sizeMs: 500, slideMs: 100, time, key, maxOutOfOrderMs: 50, allowedLatenessMs: 3_000, aggregate: distinct((e: Ev) => e.v) }),
};

/** An operator in a scope of its own, with what it emitted and sent to side outputs. */
function instance(make: () => OperatorFunction<Ev, unknown>) {
  const scope = new FakeScope();
  const source = new Subject<Ev>();
  const out: unknown[] = [];
  runInScope(scope, () => source.pipe(make()).subscribe((value) => out.push(value)));
  const handle = scope.handle('w');
  return { source, out, scope, handle, snapshot: () => handle.snapshot?.() };
}

describe('deferred window snapshots', () => {
  for (const [name, make] of Object.entries(operators)) {
    it(`${name}: filled in while events keep changing the state, equals the state at the cut`, () => {
      const input = events(9_000, name.length);
      const eager = instance(make);
      const deferred = instance(make);
      const cuts = [3_000, 6_000];
      const taken: Array<{ expected: string; pending: unknown }> = [];
      let partial = 0;
      for (let i = 0; i < input.length; i++) {
        if (cuts.includes(i)) {
          // Serialized at once: the state at the cut, as the engine copied it before snapshots were deferred.
          taken.push({ expected: JSON.stringify(eager.snapshot()), pending: deferred.snapshot() });
        }
        eager.source.next(input[i]!);
        deferred.source.next(input[i]!);
        if (i % 50 === 0) {
          eager.handle.flush?.();
          deferred.handle.flush?.();
        }
        // A slice of the filling now and then (a deadline already passed: one slice of keys).
        const pending = taken.at(-1)?.pending;
        if (i % 7 === 0 && pending instanceof DeferredSnapshot && !pending.step(-Infinity)) partial++;
      }
      expect(taken.map((t) => JSON.stringify(t.pending))).toEqual(taken.map((t) => t.expected));
      // Filled over many events, not at once, and the copy on write did not change what was emitted.
      expect(partial).toBeGreaterThanOrEqual(4);
      expect(deferred.out).toEqual(eager.out);
      expect(deferred.scope.outputs()).toEqual(eager.scope.outputs());
    });
  }

  it('completes a snapshot still being filled in when the next one is taken (a forced last cut)', () => {
    const input = events(4_000, 7);
    const eager = instance(operators['session (columns)']!);
    const deferred = instance(operators['session (columns)']!);
    let first: unknown;
    let expected = '';
    for (let i = 0; i < input.length; i++) {
      if (i === 2_000) {
        expected = JSON.stringify(eager.snapshot());
        first = deferred.snapshot();
      }
      eager.source.next(input[i]!);
      deferred.source.next(input[i]!);
    }
    const second = deferred.snapshot();
    expect(JSON.stringify(first)).toBe(expected);
    expect(JSON.stringify(second)).toBe(JSON.stringify(eager.snapshot()));
  });
});
