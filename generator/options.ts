/**
 * Options of {@link generateClickstream}. Every rate is a fraction of all emitted messages, drawn
 * independently per message, so over N messages each kind's count is close to `rate * N`.
 */
export interface GeneratorOptions {
  /** Seeds both faker (population) and the per-event PRNG: same options, byte-identical output. @default 1 */
  seed?: number;
  /** Event-time clock start, epoch ms. The generator never reads the wall clock. */
  startTime: number;
  /**
   * Event-time rate: the synthetic clock advances `1000 / eventsPerSecond` ms per emitted message.
   * It shapes timestamps only; generation itself runs as fast as the caller pulls.
   */
  eventsPerSecond: number;
  /**
   * Size of the user population. A user rests 30-40 min between visits of about 4 events, so honouring
   * think times and the > 30 min gap between a user's visits needs about `users >= 600 * eventsPerSecond`
   * (the default suits up to ~8 events/s). With fewer users, think times shrink first, then the gap
   * is no longer guaranteed (see `VisitScheduler`).
   * @default 5_000
   */
  users?: number;
  /** Fraction of messages that re-send a recent valid event (same bytes, same event_id). @default 0 */
  duplicateRate?: number;
  /** Fraction of messages that are valid events with `ts` moved back by 1..maxOutOfOrderMs. @default 0 */
  outOfOrderRate?: number;
  /** @default 2_000 */
  maxOutOfOrderMs?: number;
  /** Fraction of messages that are valid events `lateByMs` behind the clock, beyond any watermark. @default 0 */
  lateRate?: number;
  /** @default 600_000 (10 minutes) */
  lateByMs?: number;
  /** Fraction of messages taken from the edge-case cycle (eight malformations, then one unicode-edge valid event). @default 0 */
  malformedRate?: number;
}

/** {@link GeneratorOptions} with defaults filled in and values checked. */
export interface ResolvedGeneratorOptions {
  readonly seed: number;
  readonly startTime: number;
  readonly eventsPerSecond: number;
  readonly users: number;
  readonly duplicateRate: number;
  readonly outOfOrderRate: number;
  readonly maxOutOfOrderMs: number;
  readonly lateRate: number;
  readonly lateByMs: number;
  readonly malformedRate: number;
}

/** Past-timestamp malformations sit this far behind the clock; ts must stay positive. */
export const pastSkewMs = 30 * 24 * 3_600_000;
export const futureSkewMs = 2 * 24 * 3_600_000;

export function parseOptions(options: GeneratorOptions): ResolvedGeneratorOptions {
  const resolved: ResolvedGeneratorOptions = {
    seed: options.seed ?? 1,
    startTime: options.startTime,
    eventsPerSecond: options.eventsPerSecond,
    users: options.users ?? 5_000,
    duplicateRate: options.duplicateRate ?? 0,
    outOfOrderRate: options.outOfOrderRate ?? 0,
    maxOutOfOrderMs: options.maxOutOfOrderMs ?? 2_000,
    lateRate: options.lateRate ?? 0,
    lateByMs: options.lateByMs ?? 10 * 60_000,
    malformedRate: options.malformedRate ?? 0,
  };
  if (!Number.isSafeInteger(resolved.seed)) throw new Error(`seed must be an integer, got ${resolved.seed}`);
  if (!Number.isSafeInteger(resolved.startTime)) {
    throw new Error(`startTime must be an integer epoch ms, got ${resolved.startTime}`);
  }
  if (!(resolved.eventsPerSecond > 0 && Number.isFinite(resolved.eventsPerSecond))) {
    throw new Error(`eventsPerSecond must be a positive number, got ${resolved.eventsPerSecond}`);
  }
  if (!(Number.isSafeInteger(resolved.users) && resolved.users >= 1)) {
    throw new Error(`users must be a positive integer, got ${resolved.users}`);
  }
  for (const key of ['duplicateRate', 'outOfOrderRate', 'lateRate', 'malformedRate'] as const) {
    const rate = resolved[key];
    if (!(rate >= 0 && rate <= 1)) throw new Error(`${key} must be within [0, 1], got ${rate}`);
  }
  if (resolved.duplicateRate + resolved.lateRate + resolved.malformedRate + resolved.outOfOrderRate > 1) {
    throw new Error('duplicateRate + outOfOrderRate + lateRate + malformedRate must not exceed 1');
  }
  for (const key of ['maxOutOfOrderMs', 'lateByMs'] as const) {
    const ms = resolved[key];
    if (!(Number.isSafeInteger(ms) && ms >= 1)) throw new Error(`${key} must be a positive integer, got ${ms}`);
  }
  // Every timestamp the generator writes, even the skewed ones, must stay a positive integer.
  const furthestBack = Math.max(pastSkewMs, resolved.lateByMs, resolved.maxOutOfOrderMs);
  if (resolved.startTime - furthestBack < 1) {
    throw new Error(`startTime must be later than ${furthestBack} ms after the epoch, got ${resolved.startTime}`);
  }
  return resolved;
}
