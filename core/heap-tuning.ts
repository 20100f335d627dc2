import { setFlagsFromString } from 'node:v8';

/**
 * Tune V8's heap for a pipeline process. Called by `rxa run`, `rxa demo` and the benchmark's
 * pipeline processes, not by the library: the flags are process-wide, and an application embedding
 * a pipeline decides for itself.
 *
 * `percent`: the old generation's growing factor; after each full collection it may grow to
 * (1 + percent / 100) times what survived before the next one. Left to its heuristic, V8 picks up to
 * 4 when collections are cheap compared with the work between them, and they are for a pipeline,
 * whose state lives in typed arrays outside the heap: ~30 MB survive a collection, and ~120 MB were
 * reserved. At 2 (`percent` 100) the clickstream pipeline's peak RSS over 1M events was 294 / 305 MB
 * against 337 / 317 by default at the same CPU per event; 1.5 cost 5-7% more CPU for no further gain
 * (measured at commit 9702c5f; docs/internals.md, "Memory"). 0 leaves the factor to V8.
 *
 * Allocation-site pretenuring is turned off, always. V8 allocates objects straight into the old
 * generation from the sites whose objects it saw survive, and keeps doing so. A pipeline's first
 * events wait behind its first lookups (enrichment), so the sites of parsed events and their copies
 * look long-lived, although every later event dies within microseconds: in old space each is garbage
 * only a full collection frees, and keeps what it points to alive through the young collections. In
 * about half the runs of the clickstream pipeline (300k events) V8 took that decision: 90-120 MB
 * promoted instead of 25-36, 11-14 full collections instead of 7-8, and ~12% more CPU per event.
 */
export function tunePipelineHeap(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
  setFlagsFromString('--no-allocation-site-pretenuring');
}
