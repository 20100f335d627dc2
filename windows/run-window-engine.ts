/**
 * What a window operator (`tumbling`, `hopping`, `session`) does per subscription, whatever its
 * engine: register the engine with the pipeline scope (its id, the state to restore, early
 * results on the runner's flush, stats), run the early-firing timer, and feed it the source's
 * events. The operators build their engine and hand it here, as RxJS's `mergeMap` and its kin
 * hand their subscriber to `mergeInternals`.
 */
import { map, Observable, type OperatorFunction, type SchedulerAction, type Subscriber, type Subscription } from 'rxjs';
import { currentScope, type EventTime, type Origin, resolveSideOutput, type SideOutput } from '../state/operator-scope.ts';
import type { EventTimeEngine } from './event-time-engine.ts';
import { type HeldKey, type HeldKeyFunction, resultKey, type WindowKey } from './window-key.ts';
import type { ResolvedWindowOptions } from './window-options.ts';
import type { WindowKind, WindowResult } from './window-types.ts';

/**
 * A window operator: per subscription, an engine (made by `createEngine`) run by `runWindowEngine`,
 * its results' keys unpacked when `keyed` (composite keys are held packed, see window-key.ts).
 */
export function windowOperator<T, K extends WindowKey, S, A>(
  kind: WindowKind,
  keyed: boolean,
  resolve: (inherited: EventTime<never> | undefined) => ResolvedWindowOptions<T, HeldKey, S, A>,
  createEngine: (
    options: ResolvedWindowOptions<T, HeldKey, S, A>,
    subscriber: Subscriber<WindowResult<HeldKey, A>>,
    side: (output: SideOutput, origin?: Origin) => void,
  ) => EventTimeEngine<T, HeldKey, S, A>,
): OperatorFunction<T, WindowResult<K, A>> {
  const operator = {};
  return (source) => {
    let key: HeldKeyFunction<never> | undefined;
    let engine: EventTimeEngine<T, HeldKey, S, A> | undefined;
    const held = new Observable<WindowResult<HeldKey, A>>((subscriber) =>
      runWindowEngine(
        source,
        subscriber,
        kind,
        operator,
        (inherited) => {
          const options = resolve(inherited);
          key = options.key as HeldKeyFunction<never>;
          return options;
        },
        (options, side) => {
          engine = createEngine(options, subscriber, side);
          return engine;
        },
      ),
    );
    if (!keyed) return held as Observable<WindowResult<never, A>>;
    // Each result is a fresh object: its key is replaced in place.
    return held.pipe(
      map((w) => {
        if (typeof w.key === 'string') (w as WindowResult<WindowKey, A>).key = resultKey(w.key, key, engine?.stage ?? kind);
        return w as WindowResult<K, A>;
      }),
    );
  };
}

/**
 * Subscribe `source` to a new engine (made by `createEngine`, given its options completed with the
 * scope's event time and where its side outputs go) emitting to `subscriber`.
 */
export function runWindowEngine<T, K extends string | number, S, A>(
  source: Observable<T>,
  subscriber: Subscriber<WindowResult<K, A>>,
  kind: WindowKind,
  /** One object per call of the window's factory (see OperatorScope.register). */
  operator: object,
  resolve: (inherited: EventTime<never> | undefined) => ResolvedWindowOptions<T, K, S, A>,
  createEngine: (options: ResolvedWindowOptions<T, K, S, A>, side: (output: SideOutput, origin?: Origin) => void) => EventTimeEngine<T, K, S, A>,
): Subscription {
  const scope = currentScope();
  const options = resolve(scope?.eventTime);
  const side = resolveSideOutput(kind, options.sideOutput, scope);
  const engine = createEngine(options, side);
  if (scope) {
    const { id, restored } = scope.register(
      kind,
      options.id,
      {
        snapshot: () => engine.snapshot(),
        ...(options.flushEarly ? { flush: () => engine.flush() } : {}),
        stats: () => engine.stats(),
      },
      operator,
    );
    engine.stage = id;
    if (restored !== undefined) engine.restore(restored);
  }
  if (options.earlyFiring) {
    const { everyMs, scheduler } = options.earlyFiring;
    // One timer per subscription; rescheduling the same action with the same delay reuses the interval.
    subscriber.add(
      scheduler.schedule(function (this: SchedulerAction<undefined>) {
        engine.flush();
        this.schedule(undefined, everyMs);
      }, everyMs),
    );
  }
  return source.subscribe({
    next: (event) => engine.next(event),
    error: (err: unknown) => subscriber.error(err),
    complete: () => engine.complete(),
  });
}
