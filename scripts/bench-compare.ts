/**
 * What a change does to the pipeline phase: the code at `--base` and the working tree, run in
 * alternating pairs of `scripts/bench-pipeline.ts` in the same minutes, and the median of each
 * pair's difference (bench/paired-runs.ts). The base runs from a git worktree of its own (sharing
 * this checkout's node_modules), removed at the end.
 *
 *   npx tsx scripts/bench-compare.ts --base HEAD~1 --rounds 4
 *   npx tsx scripts/bench-compare.ts --base main -- --events 300000 --peer noop
 *
 * Arguments after `--` go to every bench-pipeline run (not `--instances`: one process per run).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { pairedFigure, pairOrder } from '../bench/paired-runs.ts';
import { positiveInt } from '../cli/int-options.ts';

const command = new Command()
  .name('bench-compare')
  .requiredOption('--base <rev>', 'the commit to compare the working tree with')
  .option('--rounds <n>', 'pairs of runs', positiveInt, 3)
  .argument('[bench-pipeline args...]', 'after --: passed to every bench-pipeline run')
  .parse();
const { base, rounds } = command.opts<{ base: string; rounds: number }>();
const passed = command.args;

/** What bench-pipeline prints last (bench/pipeline-throughput.ts), the figures compared. */
const RunFigures = z.object({
  perSecond: z.number(),
  cpuMicrosPerEvent: z.number(),
  mainThreadCpuMicrosPerEvent: z.number(),
  peakRssMb: z.number(),
});
type RunFigures = z.infer<typeof RunFigures>;

const git = (...args: string[]): string => execFileSync('git', args, { encoding: 'utf8' }).trim();
const commit = git('rev-parse', '--verify', `${base}^{commit}`);
const root = git('rev-parse', '--show-toplevel');

/** One bench-pipeline run in `dir`; its progress goes to stderr as it comes. */
function runIn(dir: string): Promise<RunFigures> {
  return new Promise((done, fail) => {
    const child = spawn('npx', ['tsx', 'scripts/bench-pipeline.ts', ...passed], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return fail(new Error(`bench-pipeline in ${dir} exited with ${code}`));
      try {
        done(RunFigures.parse(JSON.parse(last)));
      } catch (error) {
        fail(new Error(`bench-pipeline in ${dir} printed no figures (${last.slice(0, 200)})`, { cause: error }));
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
  `${label.padEnd(8)} ${Math.round(f.perSecond).toLocaleString('en-US').padStart(8)} events/s  ${f.cpuMicrosPerEvent.toFixed(2)} µs CPU/event (main thread ${f.mainThreadCpuMicrosPerEvent.toFixed(2)})  peak RSS ${Math.round(f.peakRssMb)} MB`;

try {
  git('worktree', 'add', '--detach', '--quiet', worktree, commit);
  await symlink(join(root, 'node_modules'), join(worktree, 'node_modules'));
  const dirs = { base: worktree, change: resolve(root) };
  const pairs: Array<Record<'base' | 'change', RunFigures>> = [];
  for (let round = 0; round < rounds; round++) {
    const pair: Partial<Record<'base' | 'change', RunFigures>> = {};
    for (const which of pairOrder(round)) {
      process.stderr.write(`round ${round + 1}/${rounds}: ${which}\n`);
      pair[which] = await runIn(dirs[which]);
    }
    pairs.push(pair as Record<'base' | 'change', RunFigures>);
    console.log(`round ${round + 1}\n  ${line('base', pair.base!)}\n  ${line('change', pair.change!)}`);
  }
  const figure = (label: string, of: (f: RunFigures) => number, unit: string, digits: number): void => {
    const f = pairedFigure(pairs.map((p) => ({ base: of(p.base), change: of(p.change) })));
    const signed = (v: number) => `${v > 0 ? '+' : ''}${v.toFixed(digits)}`;
    console.log(
      `${label.padEnd(22)} ${signed(f.median)} ${unit} median of ${pairs.length} pairs (${signed(f.min)} to ${signed(f.max)}; lower in ${f.lower}, higher in ${f.higher})`,
    );
  };
  console.log(`change against ${base} (${commit.slice(0, 7)}), change minus base:`);
  figure('CPU per event', (f) => f.cpuMicrosPerEvent, 'µs', 2);
  figure('main thread per event', (f) => f.mainThreadCpuMicrosPerEvent, 'µs', 2);
  figure('events/s', (f) => f.perSecond, '', 0);
  figure('peak RSS', (f) => f.peakRssMb, 'MB', 0);
} finally {
  await removeWorktree();
}
