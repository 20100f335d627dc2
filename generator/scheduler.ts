import type { ClickEvent } from '../pipelines/clickstream-events.ts';
import { MinHeap } from './heap.ts';
import type { User } from './population.ts';
import type { Random } from './random.ts';
import type { Visit, VisitPlanner } from './visit.ts';

/** Sessionization's inactivity gap; a user's next visit starts strictly later than this after the last. */
export const sessionGapMs = 30 * 60_000;
/** Mean extra rest beyond the gap. Longer is more lifelike but needs a larger population per event/s. */
const restMeanMs = 10 * 60_000;

/**
 * Decides which user acts at each tick of the synthetic clock, interleaving concurrent visits.
 *
 * Every tick emits exactly one event with `ts` = the clock, so timestamps never go backwards. At each tick:
 * 1. a visit whose next step is due emits it (think time honoured), else
 * 2. an idle user starts a visit (concurrency grows until visits keep the clock busy), else
 * 3. with everyone busy or resting, the visit due soonest emits early (think times shrink), else
 * 4. with no visit running, the user whose rest ends soonest starts early (the 30-min gap shrinks).
 * Cases 3 and 4 only happen when `users` is too small for `eventsPerSecond`.
 */
export class VisitScheduler {
  readonly #planner: VisitPlanner;
  readonly #random: Random;
  readonly #idle: User[];
  readonly #resting = new MinHeap<User>();
  readonly #running = new MinHeap<Visit>();

  constructor(users: ReadonlyArray<User>, planner: VisitPlanner, random: Random) {
    this.#idle = [...users];
    this.#planner = planner;
    this.#random = random;
  }

  /** The next visit event, at event time `ts` (the clock, floored to whole ms; `clock` unfloored). */
  next(clock: number, ts: number, eventId: string): ClickEvent {
    const resting = this.#resting;
    while (resting.peekKey() <= clock) this.#idle.push(resting.pop() as User);

    const running = this.#running;
    let visit: Visit | undefined;
    if (running.peekKey() <= clock || (this.#idle.length === 0 && running.size > 0)) {
      visit = running.pop() as Visit;
    } else {
      visit = this.#planner.start(this.#takeIdle() ?? (resting.pop() as User), clock);
    }

    const event = this.#planner.step(visit, eventId, ts);
    if (visit.active) running.push(visit, visit.nextAt);
    // A random rest beyond the gap, so returning users spread out instead of coming back in lockstep.
    else resting.push(visit.user, ts + sessionGapMs + 1_000 + this.#random.exponential(restMeanMs));
    return event;
  }

  /** A uniformly random idle user (swap-remove). */
  #takeIdle(): User | undefined {
    const idle = this.#idle;
    if (idle.length === 0) return undefined;
    const i = this.#random.int(idle.length);
    const user = idle[i] as User;
    idle[i] = idle[idle.length - 1] as User;
    idle.pop();
    return user;
  }
}
