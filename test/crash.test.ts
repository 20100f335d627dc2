/**
 * Delivery guarantee under crashes, with real processes: 200k events, the pipeline killed with
 * SIGKILL at random moments 5 times and restarted; afterwards every table equals the exact
 * expected totals — nothing lost, nothing counted twice. (`npm run crash-test` is the 1M-event,
 * 20-kill variant.) The kill points are random: each run prints its seed, and RXA_CRASH_SEED=<seed>
 * replays a failed run's choices.
 */
import { describe, expect, it } from 'vitest';
import { CRASH_SEED_ENV, runCrashScenario } from './support/crash-harness.ts';

describe('kill -9 and restart', () => {
  it('ends with exact totals after 5 kills during 200k events', async () => {
    const result = await runCrashScenario({ events: 200_000, kills: 5, minRunMs: 300, maxRunMs: 3_000, log: (m) => console.log(m) });
    console.log(
      JSON.stringify({
        seed: result.seed,
        expected: result.expected,
        actual: result.actual,
        lost: result.lost,
        duplicated: result.duplicated,
        ackFloors: result.ackFloors,
      }),
    );
    const replay = `crash run seed ${result.seed} (replay: ${CRASH_SEED_ENV}=${result.seed})`;
    expect(result.differences, replay).toEqual([]);
    expect(result.lost, replay).toBe(0);
    expect(result.duplicated, replay).toBe(0);
    expect(result.expected, replay).toBeGreaterThan(200_000);
    expect(result.exitCode, replay).toBe(0);
    // Kills landed mid-stream, some after checkpoints (restore) and the last before the end.
    expect(Math.max(...result.ackFloors), replay).toBeGreaterThan(0);
    expect(result.ackFloors[result.ackFloors.length - 1], replay).toBeLessThan(result.lastSeq);
  }, 600_000);
});
