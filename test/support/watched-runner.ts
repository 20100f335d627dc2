import type { RuntimeConfig } from '../../core/config.ts';
import type { PipelineSettingsInput } from '../../core/pipeline.ts';
import { type PipelineStatus, runPipeline } from '../../core/runner.ts';
import { type ClickstreamOptions, createClickstreamPipeline } from '../../pipelines/clickstream.ts';

/** A clickstream pipeline running in the test process, its status polled every 100 ms. */
export interface WatchedRunner {
  /** The last status the runner reported, if any yet. */
  status(): PipelineStatus | undefined;
  /** Whether the run has ended: stopped, or on its own (a lost lease, a failure). */
  ended(): boolean;
  /** Shut down gracefully; resolves with the final status (rejects if the run failed). */
  stop(): Promise<PipelineStatus>;
  /** Shut down and wait, whatever the outcome: for `finally` blocks. */
  dispose(): Promise<void>;
}

export function startClickstream(
  names: Pick<ClickstreamOptions, 'name' | 'stream' | 'subjectPrefix'>,
  settings: PipelineSettingsInput,
  config: RuntimeConfig,
  onLog?: (message: string) => void,
): WatchedRunner {
  const controller = new AbortController();
  let status: PipelineStatus | undefined;
  const run = runPipeline(createClickstreamPipeline({ ...names, settings }), {
    config,
    signal: controller.signal,
    statusIntervalMs: 100,
    onStatus: (s) => (status = s),
    ...(onLog ? { onLog } : {}),
  });
  let ended = false;
  // A run may fail before the test asks (a lost lease, say): `stop()` reports it then.
  void run
    .catch(() => {})
    .finally(() => {
      ended = true;
    });
  return {
    status: () => status,
    ended: () => ended,
    stop: () => {
      controller.abort();
      return run;
    },
    dispose: async () => {
      controller.abort();
      await run.catch(() => {});
    },
  };
}
