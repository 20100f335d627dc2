/**
 * What a change does to the pipeline phase (or, with `--engine`, to the operators in memory): the
 * code at `--base` and the working tree, run in alternating pairs of `scripts/bench-pipeline.ts`
 * (`scripts/bench-engine.ts`) in the same minutes, and the median of each pair's difference
 * (bench/paired-runs.ts). The base runs from a git worktree of its own (sharing this checkout's
 * node_modules), removed at the end.
 *
 *   npx tsx scripts/bench-compare.ts --base HEAD~1 --rounds 4
 *   npx tsx scripts/bench-compare.ts --base main -- --events 300000 --peer noop
 *   npx tsx scripts/bench-compare.ts --base main --engine -- --snapshot-every 100000
 *   npx tsx scripts/bench-compare.ts --base HEAD --change-arg '--node-flags=--single-threaded-gc'
 *
 * Arguments after `--` go to every run (bench-pipeline: not `--instances`, one process per run);
 * each `--base-arg` and `--change-arg` to one side's only (with `--base HEAD`: a flag or setting
 * against none, on the same code).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { pairedFigure, pairOrder } from '../bench/paired-runs.ts';
import { positiveInt } from '../cli/int-options.ts';

const command = new Command()
  .name('bench-compare')
  .requiredOption('--base <rev>', 'the commit to compare the working tree with')
  .option('--rounds <n>', 'pairs of runs', positiveInt, 3)
  .option('--engine', 'run scripts/bench-engine.ts (the operators in memory) instead of scripts/bench-pipeline.ts')
  .option('--base-arg <arg>', "one more argument for the base's runs only (repeatable)", collect, [])
  .option('--change-arg <arg>', "one more argument for the working tree's runs only (repeatable)", collect, [])
  .argument('[args...]', 'after --: passed to every run of the script')
  .parse();
const {
  base,
  rounds,
  engine,
  baseArg: baseArgs,
  changeArg: changeArgs,
} = command.opts<{ base: string; rounds: number; engine?: boolean; baseArg: string[]; changeArg: string[] }>();
const passed = command.args;

/** A figure of a run's last line, how it is shown, and its unit and decimals. */
type Figure = readonly [key: string, label: string, unit: string, digits: number];
/** What each script prints last (bench/pipeline-throughput.ts, scripts/bench-engine.ts): the figures compared. */
const SCRIPTS: Record<'pipeline' | 'engine', { readonly file: string; readonly figures: readonly Figure[] }> = {
  pipeline: {
    file: 'scripts/bench-pipeline.ts',
    figures: [
      ['cpuMicrosPerEvent', 'CPU per event', 'µs', 2],
      ['mainThreadCpuMicrosPerEvent', 'main thread per event', 'µs', 2],
      ['perSecond', 'events/s', '', 0],
      ['peakRssMb', 'peak RSS', 'MB', 0],
    ],
  },
  engine: {
    file: 'scripts/bench-engine.ts',
    figures: [
      ['cpuMicrosPerEvent', 'CPU per event', 'µs', 2],
      ['microsPerEvent', 'wall clock per event', 'µs', 2],
      ['eventsPerSecond', 'events/s', '', 0],
      ['snapshotCutMs', 'snapshot cuts', 'ms', 0],
      ['lastSnapshotMB', 'last snapshot', 'MB', 1],
    ],
  },
};
const script = SCRIPTS[engine ? 'engine' : 'pipeline'];
const RunFigures = z.object(Object.fromEntries(script.figures.map(([key]) => [key, z.number()])));
type RunFigures = Record<string, number>;

/** A repeatable option's values, in order. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const git = (...args: string[]): string => execFileSync('git', args, { encoding: 'utf8' }).trim();
const commit = git('rev-parse', '--verify', `${base}^{commit}`);
const root = git('rev-parse', '--show-toplevel');

/** One run of the script in `dir`, with `extra` arguments; its progress goes to stderr as it comes. */
function runIn(dir: string, extra: readonly string[]): Promise<RunFigures> {
  return new Promise((done, fail) => {
    const child = spawn('npx', ['tsx', script.file, ...passed, ...extra], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return fail(new Error(`${script.file} in ${dir} exited with ${code}`));
      try {
        done(RunFigures.parse(JSON.parse(last)));
      } catch (error) {
        fail(new Error(`${script.file} in ${dir} printed no figures (${last.slice(0, 200)})`, { cause: error }));
      }
    });
  });
}

const worktree = await mkdtemp(join(tmpdir(), 'rxa-bench-base-'));
const removeWorktree = async (): Promise<void> => {
  try {
    git('worktree', 'remove', '--force', worktree);
  } catch {
    await rm(worktree, { recursive: true, force: true });
    git('worktree', 'prune');
  }
};
process.once('SIGINT', () => void removeWorktree().finally(() => process.exit(130)));

const line = (label: string, f: RunFigures): string =>
  `${label.padEnd(8)} ${script.figures.map(([key, name, unit, digits]) => `${name} ${f[key]!.toFixed(digits)}${unit ? ` ${unit}` : ''}`).join(', ')}`;

try {
  git('worktree', 'add', '--detach', '--quiet', worktree, commit);
  await symlink(join(root, 'node_modules'), join(worktree, 'node_modules'));
  const sides = { base: { dir: worktree, extra: baseArgs }, change: { dir: root, extra: changeArgs } };
  const pairs: Array<Record<'base' | 'change', RunFigures>> = [];
  for (let round = 0; round < rounds; round++) {
    const pair: Partial<Record<'base' | 'change', RunFigures>> = {};
    for (const which of pairOrder(round)) {
      process.stderr.write(`round ${round + 1}/${rounds}: ${which}\n`);
      pair[which] = await runIn(sides[which].dir, sides[which].extra);
    }
    pairs.push(pair as Record<'base' | 'change', RunFigures>);
    console.log(`round ${round + 1}\n  ${line('base', pair.base!)}\n  ${line('change', pair.change!)}`);
  }
  const with_ = (args: readonly string[]) => (args.length > 0 ? ` with ${args.join(' ')}` : '');
  console.log(`change${with_(changeArgs)} against ${base} (${commit.slice(0, 7)})${with_(baseArgs)}, change minus base:`);
  for (const [key, label, unit, digits] of script.figures) {
    const f = pairedFigure(pairs.map((p) => ({ base: p.base[key]!, change: p.change[key]! })));
    const signed = (v: number) => `${v > 0 ? '+' : ''}${v.toFixed(digits)}`;
    console.log(
      `${label.padEnd(22)} ${signed(f.median)}${unit ? ` ${unit}` : ''} median of ${pairs.length} pairs (${signed(f.min)} to ${signed(f.max)}; lower in ${f.lower}, higher in ${f.higher})`,
    );
  }
} finally {
  await removeWorktree();
}
