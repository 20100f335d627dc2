import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { compiledPath } from '../bin/compiled.js';

/**
 * What `bin/rxa.js`'s launcher line sets unless it is set already (glibc's mmap threshold), so the
 * benchmark's processes run as `npx rxa run` does (bin/rxa.test.ts checks the two agree).
 */
export const LAUNCHER_MMAP_THRESHOLD = '262144';

/**
 * A benchmark phase's pipeline in a process of its own, as `rxa run` runs one: its RSS and its
 * event loop are the pipeline's alone, not shared with the benchmark's publisher, poller or raw phases.
 * The child gets `job` as JSON in argv[2]; its stdout lines go to `onLine`, and stderr lines
 * starting with `progress ` to `onProgress` (the rest is kept for the error if it fails).
 */
export class BenchChild {
  private readonly child: ChildProcessByStdio<null, Readable, Readable>;
  private readonly errors: string[] = [];
  /** Resolves with the exit code; rejects if the process could not start. */
  readonly exited: Promise<number | null>;

  /**
   * Start `entry` (a TypeScript file of the project) compiled to JavaScript, as `rxa` runs its code
   * (see bin/compiled.js); `nodeFlags` go to node before it (profiling: `--trace-gc`, V8 flags).
   */
  static async start(
    entry: URL,
    job: unknown,
    handlers: { onLine: (line: string) => void; onProgress?: (line: string) => void },
    nodeFlags: readonly string[] = [],
  ): Promise<BenchChild> {
    return new BenchChild(await compiledPath(fileURLToPath(entry)), job, handlers, nodeFlags);
  }

  private constructor(
    script: string,
    job: unknown,
    handlers: { onLine: (line: string) => void; onProgress?: (line: string) => void },
    nodeFlags: readonly string[],
  ) {
    const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? LAUNCHER_MMAP_THRESHOLD };
    this.child = spawn(process.execPath, [...nodeFlags, script, JSON.stringify(job)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout }).on('line', handlers.onLine);
    createInterface({ input: this.child.stderr }).on('line', (line) => {
      if (line.startsWith('progress ')) handlers.onProgress?.(line.slice('progress '.length));
      else if (line.trim() !== '') this.errors.push(line);
    });
    this.exited = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('exit', (code) => resolve(code));
    });
  }

  /** Ask for a graceful stop (the pipeline writes its last cut, checkpoints and acks). */
  stop(): void {
    this.child.kill('SIGTERM');
  }

  /** Resolves once the process exited with 0; otherwise rejects with the end of its stderr. */
  async succeeded(what: string): Promise<void> {
    const code = await this.exited;
    if (code !== 0) throw new Error(`${what} exited with ${code}:\n${this.errors.slice(-20).join('\n')}`);
  }
}
