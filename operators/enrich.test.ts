import type { Observable } from 'rxjs';
import { asyncScheduler, lastValueFrom, Subject, take, tap, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { runInScope } from '../state/operator-scope.ts';
import { FakeScope } from '../test/support/operator-harness.ts';
import type { EnrichOptions } from './enrich.ts';
import { enrich } from './enrich.ts';

interface Ev {
  readonly id: string;
  readonly k: string;
}

/**
 * A thenable that settles synchronously when told to, so lookups can be driven by virtual time.
 * (A real Promise would settle in a microtask, after `TestScheduler.run` has already returned.)
 */
class Deferred<V> implements PromiseLike<V> {
  #state: 'pending' | 'ok' | 'failed' = 'pending';
  #value: V | undefined;
  #error: unknown;
  #callbacks: Array<[(value: V) => void, (error: unknown) => void]> = [];

  resolve(value: V): void {
    if (this.#state !== 'pending') return;
    this.#state = 'ok';
    this.#value = value;
    for (const [ok] of this.#callbacks) ok(value);
  }

  reject(error: unknown): void {
    if (this.#state !== 'pending') return;
    this.#state = 'failed';
    this.#error = error;
    for (const [, fail] of this.#callbacks) fail(error);
  }

  // biome-ignore lint/suspicious/noThenProperty: a synchronous thenable on purpose (lookups that settle inside virtual time)
  then<A = V, B = never>(onOk?: ((value: V) => A | PromiseLike<A>) | null, onFail?: ((error: unknown) => B | PromiseLike<B>) | null): PromiseLike<A | B> {
    const next = new Deferred<A | B>();
    const ok = (value: V) => (onOk ? settleWith(next, () => onOk(value)) : next.resolve(value as unknown as A));
    const fail = (error: unknown) => (onFail ? settleWith(next, () => onFail(error)) : next.reject(error));
    if (this.#state === 'ok') ok(this.#value as V);
    else if (this.#state === 'failed') fail(this.#error);
    else this.#callbacks.push([ok, fail]);
    return next;
  }
}

function settleWith<X>(target: Deferred<X>, fn: () => X | PromiseLike<X>): void {
  try {
    const result = fn();
    if (typeof result === 'object' && result !== null && 'then' in result)
      result.then(
        (v) => target.resolve(v),
        (e) => target.reject(e),
      );
    else target.resolve(result as X);
  } catch (err) {
    target.reject(err);
  }
}

type Plan = Readonly<Record<string, { readonly after: number; readonly value?: string; readonly fail?: string }>>;

/** A lookup answering each key after `after` virtual ms (scheduled on asyncScheduler, virtual inside run()). */
function virtualLookup(plan: Plan) {
  const calls: string[] = [];
  const lookup = (key: string): PromiseLike<string | undefined> => {
    calls.push(key);
    const step = plan[key];
    if (!step) throw new Error(`no plan for ${key}`);
    const deferred = new Deferred<string | undefined>();
    asyncScheduler.schedule(() => (step.fail ? deferred.reject(new Error(step.fail)) : deferred.resolve(step.value)), step.after);
    return deferred;
  };
  return { calls, lookup };
}

const mergeEv = (e: Ev, v: string | undefined) => `${e.id}:${v ?? 'none'}`;

function options(
  lookup: (key: string) => PromiseLike<string | undefined>,
  over: Partial<EnrichOptions<Ev, string, string | undefined, string>> = {},
): EnrichOptions<Ev, string, string | undefined, string> {
  return { key: (e) => e.k, lookup, merge: mergeEv, ...over };
}

function newScheduler() {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

const ev = (id: string, k: string): Ev => ({ id, k });

describe('enrich', () => {
  it('preserves input order even when later lookups finish first', () => {
    const scope = new FakeScope();
    const { calls, lookup } = virtualLookup({ x: { after: 4, value: 'X' }, y: { after: 1, value: 'Y' } });
    runInScope(scope, () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const source = cold('ab------c|', { a: ev('a', 'x'), b: ev('b', 'y'), c: ev('c', 'y') });
        // b resolves at 2 but waits behind a (resolved at 4); c is a cache hit with an empty queue: synchronous.
        expectObservable(source.pipe(enrich(options(lookup)))).toBe('----(ab)c|', { a: 'a:X', b: 'b:Y', c: 'c:Y' });
      }),
    );
    expect(calls).toEqual(['x', 'y']);
    expect(scope.handle('enrich#0').stats?.()).toMatchObject({ in: 3, out: 3, hits: 1, misses: 2, errors: 0, timeouts: 0 });
  });

  it('preloads the cache: events wait for it in order, then only keys it lacks are looked up', () => {
    const scope = new FakeScope();
    const { calls, lookup } = virtualLookup({ y: { after: 3, value: 'Y' } });
    const table = new Deferred<Array<[string, string]>>();
    runInScope(scope, () =>
      newScheduler().run(({ cold, expectObservable }) => {
        asyncScheduler.schedule(() => table.resolve([['x', 'X']]), 4);
        const source = cold('ab---c-d-------|', { a: ev('a', 'x'), b: ev('b', 'y'), c: ev('c', 'x'), d: ev('d', 'x') });
        // a and b wait for the preload (in at 4): a is then a hit, b is looked up (in at 7); c waits
        // behind b though cached, and d, at 7 with b's answer, comes after it.
        expectObservable(source.pipe(enrich(options(lookup, { preload: () => table })))).toBe('----a--(bcd)---|', {
          a: 'a:X',
          b: 'b:Y',
          c: 'c:X',
          d: 'd:X',
        });
      }),
    );
    expect(calls).toEqual(['y']);
    expect(scope.handle('enrich#0').stats?.()).toMatchObject({ in: 4, out: 4, hits: 3, misses: 1, preloaded: 1, preloadErrors: 0, pending: 0 });
  });

  it('hands merge the key each event was looked up by: after the preload, after a lookup and on a cache hit', () => {
    const scope = new FakeScope();
    const { calls, lookup } = virtualLookup({ Y: { after: 2, value: 'y' } });
    const table = new Deferred<Array<[string, string]>>();
    runInScope(scope, () =>
      newScheduler().run(({ cold, expectObservable }) => {
        asyncScheduler.schedule(() => table.resolve([['X', 'x']]), 1);
        const source = cold('ab----c|', { a: ev('a', 'x'), b: ev('b', 'y'), c: ev('c', 'y') });
        const keyed = options(lookup, {
          key: (e) => e.k.toUpperCase(),
          merge: (e, v, key) => `${e.id}:${key}=${v ?? 'none'}`,
          preload: () => table,
        });
        expectObservable(source.pipe(enrich(keyed))).toBe('-a-b--c|', { a: 'a:X=x', b: 'b:Y=y', c: 'c:Y=y' });
      }),
    );
    expect(calls).toEqual(['Y']);
  });

  it('looks keys up one by one when the preload fails or outlasts timeoutMs, losing nothing', () => {
    for (const failure of ['rejected', 'timed out', 'thrown'] as const) {
      const scope = new FakeScope();
      const { calls, lookup } = virtualLookup({ x: { after: 1, value: 'X' } });
      const table = new Deferred<Array<[string, string]>>();
      const preload = (): PromiseLike<Array<[string, string]>> => {
        if (failure === 'thrown') throw new Error('no table');
        return table;
      };
      runInScope(scope, () =>
        newScheduler().run(({ cold, expectObservable }) => {
          if (failure === 'rejected') asyncScheduler.schedule(() => table.reject(new Error('down')), 2);
          // Timed out at 5; the table's late answer is not used.
          if (failure === 'timed out') asyncScheduler.schedule(() => table.resolve([['x', 'late']]), 8);
          const source = cold('a|', { a: ev('a', 'x') });
          const expected = { rejected: '---(a|)', 'timed out': '------(a|)', thrown: '-(a|)' }[failure];
          expectObservable(source.pipe(enrich(options(lookup, { preload, timeoutMs: 5 })))).toBe(expected, { a: 'a:X' });
        }),
      );
      expect(calls).toEqual(['x']);
      expect(scope.handle('enrich#0').stats?.()).toMatchObject({ in: 1, out: 1, misses: 1, preloaded: 0, preloadErrors: 1 });
    }
  });

  it('emits a cache hit queued behind a miss in order, not early', () => {
    const { lookup } = virtualLookup({ x: { after: 1, value: 'X' }, y: { after: 3, value: 'Y' } });
    runInScope(new FakeScope(), () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const source = cold('a-bc-----|', { a: ev('a', 'x'), b: ev('b', 'y'), c: ev('c', 'x') });
        expectObservable(source.pipe(enrich(options(lookup)))).toBe('-a---(bc)|', { a: 'a:X', b: 'b:Y', c: 'c:X' });
      }),
    );
  });

  it('shares one lookup between concurrent events with the same key', () => {
    const { calls, lookup } = virtualLookup({ x: { after: 3, value: 'X' } });
    runInScope(new FakeScope(), () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const source = cold('abc|', { a: ev('a', 'x'), b: ev('b', 'x'), c: ev('c', 'x') });
        expectObservable(source.pipe(enrich(options(lookup)))).toBe('---(abc|)', { a: 'a:X', b: 'b:X', c: 'c:X' });
      }),
    );
    expect(calls).toEqual(['x']);
  });

  it('limits lookups in flight to `concurrency`', () => {
    const { calls, lookup } = virtualLookup({ x: { after: 2, value: 'X' }, y: { after: 2, value: 'Y' }, z: { after: 2, value: 'Z' } });
    const started: Array<[string, number]> = [];
    runInScope(new FakeScope(), () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const tracked = (key: string) => {
          started.push([key, asyncScheduler.now()]);
          return lookup(key);
        };
        const source = cold('abc|', { a: ev('a', 'x'), b: ev('b', 'y'), c: ev('c', 'z') });
        expectObservable(source.pipe(enrich(options(tracked, { concurrency: 2 })))).toBe('--ab(c|)', {
          a: 'a:X',
          b: 'b:Y',
          c: 'c:Z',
        });
      }),
    );
    expect(calls).toEqual(['x', 'y', 'z']);
    expect(started).toEqual([
      ['x', 0],
      ['y', 1],
      ['z', 2],
    ]);
  });

  it('dead-letters timed-out and failed lookups with the origin captured on input, and does not cache them', () => {
    const scope = new FakeScope();
    const { calls, lookup } = virtualLookup({
      slow: { after: 50, value: 'S' },
      bad: { after: 1, fail: 'boom' },
      ok: { after: 1, value: 'O' },
    });
    runInScope(scope, () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const values = { a: ev('a', 'slow'), b: ev('b', 'bad'), c: ev('c', 'ok'), d: ev('d', 'bad'), e: ev('e', 'slow') };
        const source = cold('abc-------d-e------|', values).pipe(tap((e) => (scope.currentOrigin = `msg-${e.id}`)));
        const out = source.pipe(enrich(options(lookup, { id: 'lookup', timeoutMs: 5, retry: { attempts: 1 } })));
        // a times out at 5; b (failed at 2) and c (resolved at 3) wait behind it, then go at 5.
        // d fails again (failures are not cached) at 11; e times out at 17 (the late 'S' answer is ignored).
        expectObservable(out).toBe('-----c-------------|', { c: 'c:O' });
      }),
    );
    expect(calls).toEqual(['slow', 'bad', 'ok', 'bad', 'slow']);
    expect(scope.sides).toEqual([
      {
        output: { kind: 'dead-letter', stage: 'lookup', reason: 'lookup timed out after 5 ms', payload: JSON.stringify(ev('a', 'slow')) },
        origin: 'msg-a',
      },
      {
        output: { kind: 'dead-letter', stage: 'lookup', reason: 'lookup failed: boom', payload: JSON.stringify(ev('b', 'bad')) },
        origin: 'msg-b',
      },
      {
        output: { kind: 'dead-letter', stage: 'lookup', reason: 'lookup failed: boom', payload: JSON.stringify(ev('d', 'bad')) },
        origin: 'msg-d',
      },
      {
        output: { kind: 'dead-letter', stage: 'lookup', reason: 'lookup timed out after 5 ms', payload: JSON.stringify(ev('e', 'slow')) },
        origin: 'msg-e',
      },
    ]);
    expect(scope.handle('lookup').stats?.()).toMatchObject({ in: 5, out: 1, errors: 2, timeouts: 2, deadLetters: 4, pending: 0 });
  });

  it('retries failed and timed-out lookups with backoff before dead-lettering, keeping order', () => {
    const scope = new FakeScope();
    // Per key, what each attempt does: fail at +1, hang (times out at +5), or answer at +1.
    const script: Record<string, Array<'fail' | 'hang' | 'ok'>> = { blip: ['fail', 'ok'], slow: ['hang', 'hang', 'ok'], down: ['fail', 'fail', 'fail'] };
    const calls: string[] = [];
    const lookup = (key: string): PromiseLike<string | undefined> => {
      const step = script[key]![calls.filter((c) => c === key).length]!;
      calls.push(key);
      const deferred = new Deferred<string | undefined>();
      if (step === 'fail') asyncScheduler.schedule(() => deferred.reject(new Error(`${key} unavailable`)), 1);
      if (step === 'ok') asyncScheduler.schedule(() => deferred.resolve(key.toUpperCase()), 1);
      return deferred;
    };
    runInScope(scope, () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const values = { a: ev('a', 'blip'), b: ev('b', 'slow'), c: ev('c', 'down'), d: ev('d', 'blip') };
        const source = cold('abc|', values).pipe(tap((e) => (scope.currentOrigin = `msg-${e.id}`)));
        const out = source.pipe(enrich(options(lookup, { id: 'lookup', timeoutMs: 5, retry: { attempts: 3, backoffMs: 10 } })));
        // blip: fails at 1, retried at 11, answers at 12: a is out. slow: times out at 6, retried at 16,
        // times out at 21, retried at 41 (backoff doubled), answers at 42: b is out. down: fails at 3,
        // 14 (retried at 13) and 36 (retried at 35) for good: c is dead-lettered after b (order is kept).
        expectObservable(out).toBe(`${'-'.repeat(12)}a${'-'.repeat(29)}(b|)`, { a: 'a:BLIP', b: 'b:SLOW' });
      }),
    );
    expect(calls.sort()).toEqual(['blip', 'blip', 'down', 'down', 'down', 'slow', 'slow', 'slow']);
    expect(scope.sides).toEqual([
      {
        output: { kind: 'dead-letter', stage: 'lookup', reason: 'lookup failed: down unavailable (3 attempts)', payload: JSON.stringify(ev('c', 'down')) },
        origin: 'msg-c',
      },
    ]);
    expect(scope.handle('lookup').stats?.()).toMatchObject({ in: 3, out: 2, errors: 4, timeouts: 2, retries: 5, deadLetters: 1, pending: 0 });
  });

  it('emits held events with the origin captured on input, so downstream side outputs name the right message', () => {
    const scope = new FakeScope();
    const { lookup } = virtualLookup({ slow: { after: 5, value: 'S' } });
    const seenOrigins: unknown[] = [];
    runInScope(scope, () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const source = cold('ab|', { a: ev('a', 'slow'), b: ev('b', 'slow') }).pipe(tap((e) => (scope.currentOrigin = `msg-${e.id}`)));
        const out = source.pipe(
          enrich(options(lookup, {})),
          tap(() => seenOrigins.push(scope.origin())),
        );
        expectObservable(out).toBe('-----(ab|)', { a: 'a:S', b: 'b:S' });
      }),
    );
    expect(seenOrigins).toEqual(['msg-a', 'msg-b']);
  });

  it('dead-letters events whose merge throws, and caches undefined values', () => {
    const scope = new FakeScope();
    const { calls, lookup } = virtualLookup({ x: { after: 1 } });
    const merge = (e: Ev, v: string | undefined): string => {
      if (e.id === 'b') throw new Error('cannot merge b');
      return mergeEv(e, v);
    };
    runInScope(scope, () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const source = cold('a-b-c|', { a: ev('a', 'x'), b: ev('b', 'x'), c: ev('c', 'x') });
        expectObservable(source.pipe(enrich(options(lookup, { merge })))).toBe('-a--c|', { a: 'a:none', c: 'c:none' });
      }),
    );
    expect(calls).toEqual(['x']);
    expect(scope.outputs()).toEqual([
      { kind: 'dead-letter', stage: 'enrich#0', reason: 'merge failed: cannot merge b', payload: JSON.stringify(ev('b', 'x')) },
    ]);
  });

  it('bounds the cache by LRU and expires entries by processing-time TTL', () => {
    const { calls, lookup } = virtualLookup({ x: { after: 0, value: 'X' }, y: { after: 0, value: 'Y' }, z: { after: 0, value: 'Z' } });
    runInScope(new FakeScope(), () =>
      newScheduler().run(({ cold, expectObservable }) => {
        // x, y cached; x touched (now most recent); z evicts y; x still hit; y looked up again.
        // Then 20 ms later everything has expired (ttl 10) and x is looked up again.
        const source = cold('xyxzxy 20ms x|', { x: ev('1', 'x'), y: ev('2', 'y'), z: ev('3', 'z') });
        const out = source.pipe(enrich(options(lookup, { cache: { maxEntries: 2, ttlMs: 10 } })), take(7));
        expectObservable(out).toBe('abcdef 20ms (g|)', { a: '1:X', b: '2:Y', c: '1:X', d: '3:Z', e: '1:X', f: '2:Y', g: '1:X' });
      }),
    );
    expect(calls).toEqual(['x', 'y', 'z', 'y', 'x']);
  });

  it('evicts exactly the least recently used key once full, keeping maxEntries cached', () => {
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const cached: unknown[] = [];
    const { calls, lookup } = virtualLookup(Object.fromEntries(keys.map((k) => [k, { after: 0, value: k.toUpperCase() }])));
    const scope = new FakeScope();
    runInScope(scope, () =>
      newScheduler().run(({ cold, expectObservable }) => {
        // a b c fill the cache; a touched; d evicts b; e evicts c; a, d, e still hit; b, c looked up again.
        const source = cold('abcadeadebc|', Object.fromEntries(keys.map((k) => [k, ev(k, k)])));
        const out = source.pipe(
          enrich(options(lookup, { cache: { maxEntries: 3 } })),
          tap(() => cached.push(scope.handle('enrich#0').stats?.().cached)),
        );
        expectObservable(out).toBe('abcadeadebc|', Object.fromEntries(keys.map((k) => [k, `${k}:${k.toUpperCase()}`])));
      }),
    );
    expect(calls).toEqual(['a', 'b', 'c', 'd', 'e', 'b', 'c']);
    expect(cached).toEqual([1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
    expect(scope.handle('enrich#0').stats?.()).toMatchObject({ in: 11, out: 11, hits: 4, misses: 7 });
  });

  it('with maxEntries 0, caches nothing', () => {
    const { calls, lookup } = virtualLookup({ x: { after: 1, value: 'X' } });
    const scope = new FakeScope();
    const cached: unknown[] = [];
    runInScope(scope, () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const out = cold('a-b-c|', { a: ev('a', 'x'), b: ev('b', 'x'), c: ev('c', 'x') }).pipe(
          enrich(options(lookup, { cache: { maxEntries: 0 } })),
          tap(() => cached.push(scope.handle('enrich#0').stats?.().cached)),
        );
        expectObservable(out).toBe('-a-b-(c|)', { a: 'a:X', b: 'b:X', c: 'c:X' });
      }),
    );
    expect(calls).toEqual(['x', 'x', 'x']);
    expect(cached).toEqual([0, 0, 0]);
    expect(scope.handle('enrich#0').stats?.()).toMatchObject({ hits: 0, misses: 3 });
  });

  it('a failed background refresh does not make its key recently used', () => {
    // x's refresh fails after y was used: x stays the least recently used and is the one z evicts.
    const answers: Record<string, Array<'ok' | 'fail'>> = { x: ['ok', 'fail', 'ok'], y: ['ok'], z: ['ok'] };
    const calls: string[] = [];
    const lookup = (key: string): PromiseLike<string | undefined> => {
      const answer = answers[key]![calls.filter((c) => c === key).length]!;
      calls.push(key);
      const deferred = new Deferred<string | undefined>();
      asyncScheduler.schedule(() => (answer === 'fail' ? deferred.reject(new Error('down')) : deferred.resolve(key.toUpperCase())), 5);
      return deferred;
    };
    runInScope(new FakeScope(), () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const k = (id: string, key: string) => ev(id, key);
        // x at 0 (X at 5); y at 12 (Y at 17); x at 20: stale, used, refreshed (fails at 25); y at 22: fresh;
        // z at 30 (Z at 35) evicts x; x at 40 is looked up again (answer at 45).
        const source = cold('a 11ms b 7ms c 1ms d 7ms e 9ms f|', {
          a: k('a', 'x'),
          b: k('b', 'y'),
          c: k('c', 'x'),
          d: k('d', 'y'),
          e: k('e', 'z'),
          f: k('f', 'x'),
        });
        const out = source.pipe(enrich(options(lookup, { cache: { maxEntries: 2, ttlMs: 10, staleMs: 1_000 }, retry: { attempts: 1, backoffMs: 100 } })));
        expectObservable(out).toBe('5ms a 11ms b 2ms c 1ms d 12ms e 9ms (f|)', { a: 'a:X', b: 'b:Y', c: 'c:X', d: 'd:Y', e: 'e:Z', f: 'f:X' });
      }),
    );
    expect(calls).toEqual(['x', 'y', 'x', 'z', 'x']);
  });

  it('keeps using an expired value while it is looked up again in the background (staleMs), and waits past it', () => {
    // Each call answers after 5 ms: X1, then a failure, then X3, then X4.
    const answers: Array<{ value?: string; fail?: string }> = [{ value: 'X1' }, { fail: 'down' }, { value: 'X3' }, { value: 'X4' }];
    const calls: number[] = [];
    const lookup = (): PromiseLike<string | undefined> => {
      const answer = answers[calls.length]!;
      calls.push(calls.length);
      const deferred = new Deferred<string | undefined>();
      asyncScheduler.schedule(() => (answer.fail ? deferred.reject(new Error(answer.fail)) : deferred.resolve(answer.value)), 5);
      return deferred;
    };
    const scope = new FakeScope();
    runInScope(scope, () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const x = (id: string) => ev(id, 'x');
        // a: a miss (X1 at 5). b at 20: X1 expired at 15, used at once, refreshed (fails at 25: next
        // try after the 8 ms backoff). c at 30: X1, no lookup. d at 40: X1, refreshed (X3 at 45).
        // e at 50: X3. f at 200: X3 is past ttl + staleMs (45 + 10 + 100): f waits for X4.
        const source = cold('a 19ms b 9ms c 9ms d 9ms e 149ms f|', { a: x('a'), b: x('b'), c: x('c'), d: x('d'), e: x('e'), f: x('f') });
        const out = source.pipe(enrich(options(lookup, { cache: { ttlMs: 10, staleMs: 100 }, retry: { attempts: 1, backoffMs: 8 } })));
        expectObservable(out).toBe('5ms a 14ms b 9ms c 9ms d 9ms e 154ms (f|)', { a: 'a:X1', b: 'b:X1', c: 'c:X1', d: 'd:X1', e: 'e:X3', f: 'f:X4' });
      }),
    );
    expect(calls).toHaveLength(4);
    expect(scope.handle('enrich#0').stats?.()).toMatchObject({ in: 6, out: 6, hits: 4, misses: 2, refreshes: 2, errors: 1, deadLetters: 0 });
    expect(scope.outputs()).toEqual([]);
  });

  it('with staleMs 0, an expired value is looked up again while events wait', () => {
    const { calls, lookup } = virtualLookup({ x: { after: 5, value: 'X' } });
    runInScope(new FakeScope(), () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const out = cold('a 19ms b|', { a: ev('a', 'x'), b: ev('b', 'x') }).pipe(enrich(options(lookup, { cache: { ttlMs: 10, staleMs: 0 } })));
        expectObservable(out).toBe('5ms a 19ms (b|)', { a: 'a:X', b: 'b:X' });
      }),
    );
    expect(calls).toEqual(['x', 'x']);
  });

  it('waits for queued events before completing', () => {
    const { lookup } = virtualLookup({ x: { after: 10, value: 'X' } });
    runInScope(new FakeScope(), () =>
      newScheduler().run(({ cold, expectObservable }) => {
        expectObservable(cold('a|', { a: ev('a', 'x') }).pipe(enrich(options(lookup)))).toBe('10ms (a|)', { a: 'a:X' });
      }),
    );
  });

  it('handles empty, never and errors', () => {
    const { lookup } = virtualLookup({ x: { after: 1, value: 'X' } });
    runInScope(new FakeScope(), () =>
      newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        expectObservable(cold<Ev>('|').pipe(enrich(options(lookup)))).toBe('|');
        expectObservable(cold<Ev>('-').pipe(enrich(options(lookup)))).toBe('-');
        // The error is not delayed by the queue: a pipeline that failed must stop now.
        const failing = cold('-a#', { a: ev('a', 'x') }, new Error('boom'));
        expectObservable(failing.pipe(enrich(options(lookup)))).toBe('--#', undefined, new Error('boom'));
        expectSubscriptions(failing.subscriptions).toBe('^-!');
      }),
    );
  });

  it('clears lookup timers on early unsubscribe and supports downstream take', () => {
    const scope = new FakeScope();
    const { lookup } = virtualLookup({ slow: { after: 100, value: 'S' }, x: { after: 1, value: 'X' } });
    runInScope(scope, () =>
      newScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-c-|', { a: ev('a', 'slow'), b: ev('b', 'x'), c: ev('c', 'x') });
        expectObservable(source.pipe(enrich(options(lookup, { timeoutMs: 10, retry: { attempts: 1 } }))), '^---!').toBe('-----');
        expectObservable(source.pipe(enrich(options(lookup, { timeoutMs: 10, retry: { attempts: 1 } })), take(1))).toBe('-----------(b|)', { b: 'b:X' });
        // The second subscription to the source ends when the source completes; output waits for the queue.
        expectSubscriptions(source.subscriptions).toBe(['^---!', '^------!']);
      }),
    );
    // The first subscription's timeout (at 11) never fired; the second's did (dead letter for a), then b emitted.
    expect(scope.outputs()).toEqual([
      { kind: 'dead-letter', stage: 'enrich#1', reason: 'lookup timed out after 10 ms', payload: JSON.stringify(ev('a', 'slow')) },
    ]);
  });

  it('reports pending() and resolves idle() with real promises', async () => {
    const scope = new FakeScope();
    const source = new Subject<Ev>();
    const resolvers = new Map<string, (v: string) => void>();
    const lookup = (key: string) => new Promise<string>((resolve) => resolvers.set(key, resolve));
    const done = runInScope(scope, () => lastValueFrom(source.pipe(enrich(options(lookup)), toArray())));
    const handle = scope.handle('enrich#0');
    await handle.idle?.();
    source.next(ev('a', 'x'));
    source.next(ev('b', 'y'));
    source.next(ev('c', 'x'));
    expect(handle.pending?.()).toBe(3);
    let idle = false;
    void handle.idle?.().then(() => (idle = true));
    resolvers.get('y')?.('Y');
    await Promise.resolve();
    await Promise.resolve();
    expect(handle.pending?.()).toBe(3);
    resolvers.get('x')?.('X');
    await new Promise((r) => setTimeout(r, 0));
    expect(handle.pending?.()).toBe(0);
    expect(idle).toBe(true);
    source.next(ev('d', 'x')); // cache hit: synchronous
    expect(handle.pending?.()).toBe(0);
    source.complete();
    expect(await done).toEqual(['a:X', 'b:Y', 'c:X', 'd:X']);
  });

  it('requires a side output outside a scope, and validates options', () => {
    let error: unknown;
    const { lookup } = virtualLookup({});
    (new Subject<Ev>() as Observable<Ev>).pipe(enrich(options(lookup))).subscribe({ error: (e: unknown) => (error = e) });
    expect(String(error)).toMatch(/no side output/);
    expect(() => enrich(options(lookup, { concurrency: 0 }))).toThrow(/concurrency/);
    expect(() => enrich(options(lookup, { timeoutMs: 0 }))).toThrow(/timeoutMs/);
    expect(() => enrich(options(lookup, { retry: { attempts: 0 } }))).toThrow(/attempts/);
    expect(() => enrich(options(lookup, { retry: { backoffMs: -1 } }))).toThrow(/backoffMs/);
  });
});
