/**
 * Child process of the latency phase (see `measureLatency`): runs the clickstream pipeline live on
 * the job's stream until SIGTERM, then stops gracefully. Prints `ready` on stdout once its consumer
 * is open, and a line after each checkpoint (see `CHECKPOINT_LINE`).
 */

import { runCommand } from '../cli/run.ts';
import type { RuntimeConfig } from '../core/config.ts';
import type { PipelineSettingsInput } from '../core/pipeline.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';
import { CHECKPOINT_LINE, type CheckpointStatus } from './checkpoint-tally.ts';
import type { PhaseNames } from './names.ts';

export interface LivePipelineJob {
  readonly config: RuntimeConfig;
  readonly names: PhaseNames;
  /** Override the pipeline's settings (to measure a tuning change; `npm run bench` uses none). */
  readonly settings?: PipelineSettingsInput;
}

const { config, names, settings } = JSON.parse(process.argv[2] ?? '') as LivePipelineJob;
const controller = new AbortController();
process.once('SIGTERM', () => controller.abort());
let ready = false;
let checkpoints = 0;
const pipeline = createClickstreamPipeline({ name: names.pipeline, stream: names.stream, subjectPrefix: names.subjectPrefix });
// Through `rxa run`'s own code (its modules, heap tuning and health metrics), without its status line.
await runCommand(settings ? { ...pipeline, settings: { ...pipeline.settings, ...settings } } : pipeline, config, {
  quiet: true,
  signal: controller.signal,
  onStatus: ({ checkpoints: count, lastCheckpointBytes, lastCheckpointWrittenBytes, lastCheckpointMs }) => {
    if (count === checkpoints) return;
    checkpoints = count;
    const status: CheckpointStatus = { checkpoints: count, lastCheckpointBytes, lastCheckpointWrittenBytes, lastCheckpointMs };
    process.stdout.write(`${CHECKPOINT_LINE}${JSON.stringify(status)}\n`);
  },
  onLog: (message) => {
    // Logged right before the first pull ('no checkpoint: ...' or 'restored checkpoint ...').
    if (!ready && /checkpoint/.test(message)) {
      ready = true;
      process.stdout.write('ready\n');
    }
  },
});
