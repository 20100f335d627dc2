import { Duplicates } from './duplicates.ts';
import { malformedPayload, unicodeEdgeEvent } from './edge-cases.ts';
import { encodeJson as encode } from './encode.ts';
import { EventIds } from './event-ids.ts';
import type { GeneratedMessage, Malformation } from './messages.ts';
import { malformations } from './messages.ts';
import type { GeneratorOptions, ResolvedGeneratorOptions } from './options.ts';
import { parseOptions } from './options.ts';
import { createPopulation } from './population.ts';
import { Random } from './random.ts';
import { VisitScheduler } from './scheduler.ts';
import { VisitPlanner } from './visit.ts';

export type { GeneratedMessage, Malformation } from './messages.ts';
export type { GeneratorOptions } from './options.ts';

/** The field a newer producer adds (the clickstream schema does not declare it). */
export const ADDED_FIELD = 'session_hint';

/**
 * The edge-case cycle: every malformation in turn, then one valid unicode-edge event, then one valid
 * event from a producer a version ahead (a field the schema does not know: read tolerantly).
 */
const edgeCases: ReadonlyArray<Malformation | 'unicode-edge' | 'added-field'> = [...malformations, 'unicode-edge', 'added-field'];

/**
 * An infinite, deterministic clickstream: the same options give byte-identical messages.
 *
 * A seeded population of users browses the demo shop (pipelines/clickstream-site.ts, site.ts) in
 * interleaved visits; see `VisitScheduler` for how visits share the synthetic clock and
 * `VisitPlanner` for the page flow.
 * Valid events carry `ts` = the clock, so they arrive in event-time order; the knobs then mix in
 * re-sends, out-of-order and late events, and the edge-case cycle (malformations, unicode edge cases).
 * The caller takes as many messages as it needs.
 *
 * @example
 * ```ts
 * let n = 0;
 * for (const m of generateClickstream({ seed: 7, startTime: Date.parse('2025-01-01'), eventsPerSecond: 5, duplicateRate: 0.01 })) {
 *   if (++n > 10_000) break;
 *   if (m.kind !== 'malformed') console.log(m.event.user_id, m.event.type);
 * }
 * ```
 */
export function generateClickstream(options: GeneratorOptions): Generator<GeneratedMessage, never, undefined> {
  // Validate now, not on the first next(): a generator function body only runs when pulled.
  return messages(parseOptions(options));
}

function* messages(o: ResolvedGeneratorOptions): Generator<GeneratedMessage, never, undefined> {
  const random = new Random(o.seed);
  const users = createPopulation(o.users, o.seed, random);
  const planner = new VisitPlanner(random);
  const scheduler = new VisitScheduler(users, planner, random);
  const ids = new EventIds(random);
  const duplicates = new Duplicates();

  const tickMs = 1000 / o.eventsPerSecond;
  const duplicateBelow = o.duplicateRate;
  const lateBelow = duplicateBelow + o.lateRate;
  const edgeBelow = lateBelow + o.malformedRate;
  const outOfOrderBelow = edgeBelow + o.outOfOrderRate;
  let edgeIndex = 0;

  for (let tick = 0; ; tick++) {
    // Multiplying (not accumulating) keeps the clock exact over billions of ticks.
    const clock = o.startTime + tick * tickMs;
    const ts = Math.floor(clock);
    const u = random.float();

    if (u < duplicateBelow) {
      const duplicate = duplicates.take(random);
      // Nothing to re-send yet: the tick carries a fresh event instead.
      if (duplicate !== undefined) {
        yield duplicate;
        continue;
      }
    } else if (u < lateBelow) {
      const eventId = ids.next();
      const event = planner.standalonePageView(random.pick(users), eventId, ts - o.lateByMs);
      yield { kind: 'late', event, payload: encode(event), msgId: eventId };
      continue;
    } else if (u < edgeBelow) {
      const edge = edgeCases[edgeIndex++ % edgeCases.length]!;
      const eventId = ids.next();
      if (edge === 'unicode-edge') {
        const event = unicodeEdgeEvent(scheduler.next(clock, ts, eventId), random);
        yield { kind: 'valid', event, payload: encode(event), msgId: eventId, unicodeEdge: true };
      } else if (edge === 'added-field') {
        const event = scheduler.next(clock, ts, eventId);
        yield { kind: 'valid', event, payload: encode({ ...event, [ADDED_FIELD]: `hint-${eventId.slice(0, 8)}` }), msgId: eventId, addedField: ADDED_FIELD };
      } else {
        const base = planner.standalonePageView(random.pick(users), eventId, ts);
        yield { kind: 'malformed', malformation: edge, payload: malformedPayload(edge, base, random), msgId: eventId };
      }
      continue;
    }

    const eventId = ids.next();
    let event = scheduler.next(clock, ts, eventId);
    let message: Extract<GeneratedMessage, { kind: 'valid' }>;
    if (u >= edgeBelow && u < outOfOrderBelow) {
      event = { ...event, ts: ts - 1 - random.int(o.maxOutOfOrderMs) };
      message = { kind: 'valid', event, payload: encode(event), msgId: eventId, outOfOrder: true };
    } else {
      message = { kind: 'valid', event, payload: encode(event), msgId: eventId };
    }
    duplicates.remember(message);
    yield message;
  }
}
