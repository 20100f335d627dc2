import { setFlagsFromString } from 'node:v8';

/**
 * Set V8's heap growing factor for a pipeline process: after each full collection the old
 * generation may grow to (1 + percent / 100) times what survived it before the next one.
 *
 * Why: left to its heuristic, V8 picks a factor of up to 4 when collections are cheap compared
 * with the work between them, and they are for a pipeline, whose state lives in typed arrays
 * outside the heap: ~30 MB survive a collection, and ~120 MB were reserved. At 2 (`percent` 100)
 * the clickstream pipeline's peak RSS over 1M events was 294 / 305 MB against 337 / 317 by
 * default at the same CPU per event; 1.5 cost 5-7% more CPU for no further gain
 * (measured at commit 9702c5f; docs/internals.md, "Memory"). Called by `rxa run`, `rxa demo`
 * and the benchmark's pipeline processes, not by the library: the flag is process-wide, and an
 * application embedding a pipeline decides for itself.
 */
export function tunePipelineHeap(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
