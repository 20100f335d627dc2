/**
 * `npm run crash-test`: the benchmark-size crash test. Publishes a seeded clickstream, kills the
 * pipeline process with SIGKILL at random moments, restarts it, and prints one JSON line:
 * {"seed","events","kills","expected","actual","lost","duplicated","duration_s"}. The random
 * choices come from the seed (`--seed`, else RXA_CRASH_SEED, else random; printed at the start):
 * `--seed <n>` replays a failed run's.
 */
import { Command } from 'commander';
import { nonNegativeInt } from '../cli/int-options.ts';
import { CRASH_SEED_ENV, runCrashScenario } from '../test/support/crash-harness.ts';

const options = new Command()
  .name('crash-test')
  .option('--events <n>', 'events to publish', Number, 1_000_000)
  .option('--kills <n>', 'kill -9 this many times', Number, 20)
  .option('--min-run-ms <n>', 'shortest life of a run before the kill', Number, 2_000)
  .option('--max-run-ms <n>', 'longest life of a run before the kill', Number, 6_000)
  .option('--seed <n>', `seed of the random kill points (default: ${CRASH_SEED_ENV}, else random)`, nonNegativeInt)
  .parse()
  .opts<{ events: number; kills: number; minRunMs: number; maxRunMs: number; seed?: number }>();

const result = await runCrashScenario({ ...options, log: (m) => console.error(m) });
for (const difference of result.differences) console.error(difference);
const passed = result.lost === 0 && result.duplicated === 0 && result.exitCode === 0;
if (!passed) console.error(`crash run seed ${result.seed} failed (replay: --seed ${result.seed})`);
console.log(
  JSON.stringify({
    seed: result.seed,
    events: options.events,
    kills: result.kills,
    expected: result.expected,
    actual: result.actual,
    lost: result.lost,
    duplicated: result.duplicated,
    duration_s: Math.round(result.durationMs / 1000),
  }),
);
process.exit(passed ? 0 : 1);
