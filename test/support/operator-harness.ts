/**
 * Test harness for operators: a fake pipeline scope, a synchronous driver of an operator, and the
 * check that restoring a snapshot reproduces an uninterrupted run.
 */
import type { OperatorFunction } from 'rxjs';
import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';
import type { OperatorHandle, OperatorScope, Origin, SideOutput } from '../../state/operator-scope.ts';
import { runInScope } from '../../state/operator-scope.ts';
import type { WindowResult } from '../../windows/window-types.ts';

/** A side output as recorded by {@link FakeScope}, with the origin it was reported for. */
export interface RecordedSide {
  readonly output: SideOutput;
  readonly origin: Origin;
}

/**
 * A minimal in-memory {@link OperatorScope} for tests: records handles and side outputs, hands out
 * restored state by operator id, and lets the test set the "current input" origin.
 */
export class FakeScope implements OperatorScope {
  readonly handles = new Map<string, OperatorHandle>();
  readonly sides: RecordedSide[] = [];
  /** The origin reported by `origin()`; tests set it before pushing an input. */
  currentOrigin: Origin = undefined;
  readonly #restored: Readonly<Record<string, unknown>>;
  readonly #counters = new Map<string, number>();

  constructor(restored: Readonly<Record<string, unknown>> = {}) {
    this.#restored = restored;
  }

  register(kind: string, id: string | undefined, handle: OperatorHandle, _operator: object): { id: string; restored: unknown } {
    let resolved = id;
    if (resolved === undefined) {
      const n = this.#counters.get(kind) ?? 0;
      this.#counters.set(kind, n + 1);
      resolved = `${kind}#${n}`;
    }
    this.handles.set(resolved, handle);
    return { id: resolved, restored: this.#restored[resolved] };
  }

  side(output: SideOutput, origin: Origin = this.currentOrigin): void {
    this.sides.push({ output, origin });
  }

  origin(): Origin {
    return this.currentOrigin;
  }

  withOrigin(origin: Origin, emit: () => void): void {
    const previous = this.currentOrigin;
    this.currentOrigin = origin;
    try {
      emit();
    } finally {
      this.currentOrigin = previous;
    }
  }

  /** The handle registered under `id`; throws when there is none (the operator was not subscribed). */
  handle(id: string): OperatorHandle {
    const handle = this.handles.get(id);
    if (!handle) throw new Error(`no operator registered as '${id}' (registered: ${[...this.handles.keys()].join(', ')})`);
    return handle;
  }

  /** Side outputs without origins, for compact assertions. */
  outputs(): SideOutput[] {
    return this.sides.map((s) => s.output);
  }
}

/** A step of {@link drive}: an input event, or a runner action on the operator's handle. */
export type Step<T> = { readonly event: T } | 'flush' | 'snapshot';

/** What {@link drive} observed. */
export interface DriveResult<R> {
  readonly out: R[];
  /** Outputs and side outputs interleaved in the order they happened. */
  readonly log: Array<{ readonly out: R } | { readonly side: SideOutput }>;
  readonly sides: SideOutput[];
  /** The snapshot taken at the last 'snapshot' step, JSON round-tripped like a real checkpoint. */
  readonly snapshot: unknown;
  readonly completed: boolean;
  readonly error: unknown;
  readonly scope: FakeScope;
}

/**
 * Push `steps` synchronously through `operator` subscribed inside a fresh {@link FakeScope}
 * (restoring `restored` for `id`), then complete the source when `complete` is true, else unsubscribe.
 */
export function drive<T, R>(
  operator: OperatorFunction<T, R>,
  id: string,
  steps: ReadonlyArray<Step<T>>,
  { complete = true, restored }: { complete?: boolean; restored?: unknown } = {},
): DriveResult<R> {
  const scope = new FakeScope(restored === undefined ? {} : { [id]: restored });
  const source = new Subject<T>();
  const out: R[] = [];
  const log: Array<{ out: R } | { side: SideOutput }> = [];
  let completed = false;
  let error: unknown;
  let snapshot: unknown;
  const originalSide = scope.side.bind(scope);
  scope.side = (output, origin) => {
    log.push({ side: output });
    originalSide(output, origin);
  };
  const subscription = runInScope(scope, () =>
    source.pipe(operator).subscribe({
      next: (value) => {
        out.push(value);
        log.push({ out: value });
      },
      error: (err: unknown) => (error = err),
      complete: () => (completed = true),
    }),
  );
  const handle = scope.handle(id);
  for (const step of steps) {
    if (step === 'flush') handle.flush?.();
    else if (step === 'snapshot') snapshot = JSON.parse(JSON.stringify(handle.snapshot?.()));
    else source.next(step.event);
  }
  if (complete) source.complete();
  else subscription.unsubscribe();
  return { out, log, sides: scope.outputs(), snapshot, completed, error, scope };
}

/**
 * Check that restoring a snapshot reproduces an uninterrupted run: run `steps` whole, and again split at
 * every index in `cuts` (snapshot, stop, restore into a new subscription, continue). Returns the whole run.
 */
export function expectRestoreEquivalence<T, R>(
  makeOperator: () => OperatorFunction<T, R>,
  id: string,
  steps: ReadonlyArray<Step<T>>,
  cuts: readonly number[],
  assertEqual: (actual: unknown, expected: unknown) => void,
): DriveResult<R> {
  const whole = drive(makeOperator(), id, steps);
  for (const cut of cuts) {
    const first = drive(makeOperator(), id, [...steps.slice(0, cut), 'snapshot'], { complete: false });
    const second = drive(makeOperator(), id, steps.slice(cut), { restored: first.snapshot });
    assertEqual([...first.log, ...second.log], whole.log);
    assertEqual(second.completed, true);
  }
  return whole;
}

/** A window result of a `count()` aggregate (value == count), for expectations. */
export function countResult(key: string, start: number, end: number, n: number, final: boolean): WindowResult<string, number> {
  return { key, start, end, value: n, count: n, final };
}

/** A TestScheduler that compares with vitest's deep equality. */
export function newScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}
