/**
 * `npm run crash-test`: the benchmark-size crash test. Publishes a seeded clickstream, kills the
 * pipeline process with SIGKILL at random moments, restarts it, and prints one JSON line:
 * {"events","kills","expected","actual","lost","duplicated","duration_s"}.
 */
import { Command } from 'commander';
import { runCrashScenario } from '../test/support/crash-harness.ts';

const options = new Command()
  .name('crash-test')
  .option('--events <n>', 'events to publish', Number, 1_000_000)
  .option('--kills <n>', 'kill -9 this many times', Number, 20)
  .option('--min-run-ms <n>', 'shortest life of a run before the kill', Number, 2_000)
  .option('--max-run-ms <n>', 'longest life of a run before the kill', Number, 6_000)
  .parse()
  .opts<{ events: number; kills: number; minRunMs: number; maxRunMs: number }>();

const result = await runCrashScenario({ ...options, log: (m) => console.error(m) });
for (const difference of result.differences) console.error(difference);
console.log(
  JSON.stringify({
    events: options.events,
    kills: result.kills,
    expected: result.expected,
    actual: result.actual,
    lost: result.lost,
    duplicated: result.duplicated,
    duration_s: Math.round(result.durationMs / 1000),
  }),
);
process.exit(result.lost === 0 && result.duplicated === 0 && result.exitCode === 0 ? 0 : 1);
