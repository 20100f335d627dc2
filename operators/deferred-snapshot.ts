/**
 * An operator snapshot taken inside a synchronous cut but filled in after it, a slice at a time.
 *
 * Why: a checkpoint's state must be the state at its cut, and the cut is synchronous (no event may
 * slip in between rows, snapshot and position). Copying a session operator's state there — an
 * object walk over every open session — stalled the pipeline for 50-500 ms at 80k sessions. A
 * deferred snapshot only marks the cut there; the operator fills it in afterwards while events keep
 * flowing, and copies the state of anything an event is about to change first (copy on write), so
 * the result is exactly the state at the cut.
 *
 * The runner fills it in slices between events (`PipelineEngine.settle`) before the checkpoint is
 * serialized; `result()` (and `toJSON`, for anything that serializes it directly) completes it at once.
 */
export class DeferredSnapshot {
  private value: unknown;
  private done = false;

  /**
   * @param fill fills in the snapshot until `deadline` (a `performance.now()` time) or until it is
   *   complete; returns the snapshot once complete, `undefined` while there is more to do.
   */
  constructor(private readonly fill: (deadline: number) => unknown) {}

  /** Fill in until `deadline` (`performance.now()` time); true once the snapshot is complete. */
  step(deadline: number): boolean {
    if (!this.done) {
      const value = this.fill(deadline);
      if (value !== undefined) {
        this.value = value;
        this.done = true;
      }
    }
    return this.done;
  }

  /** The snapshot, completed now if it is not yet. */
  result(): unknown {
    while (!this.step(Infinity));
    return this.value;
  }

  toJSON(): unknown {
    return this.result();
  }
}
