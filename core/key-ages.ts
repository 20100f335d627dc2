import { setTimeout as sleep } from 'node:timers/promises';
import type { KV, KvEntry } from '@nats-io/kv';

/** A key as last seen: its value (undefined once deleted), its revision, and when that revision was first seen. */
export interface SeenKey {
  readonly value: string | undefined;
  readonly revision: number;
  /** `performance.now()` when this revision was first seen. */
  readonly since: number;
}

type Watch = AsyncIterable<KvEntry> & { stop(): void };

/**
 * The keys of a KV bucket under a wildcard, as a watch delivers them, each with how long its
 * revision has stood by this process's own clock: a key rewritten every third of a TTL by a live
 * process (a lease, a member's heartbeat) whose revision has stood for the TTL belongs to a dead
 * one. No clocks of two machines are compared (as in core/lease.ts).
 */
export class KeyAges {
  /** Resolves once the values that were there when the watch started have all been seen. */
  readonly ready: Promise<void>;
  private readonly keys = new Map<string, SeenKey>();
  private watch: Watch;
  private stopped = false;

  private constructor(
    private readonly kv: KV,
    private readonly key: string,
    first: Watch,
  ) {
    this.watch = first;
    let caughtUp!: () => void;
    this.ready = new Promise((resolve) => (caughtUp = resolve));
    void this.follow(caughtUp);
  }

  /** Watch the keys matching `key` (a wildcard). `ready` needs at least one of them to exist. */
  static async watch(kv: KV, key: string): Promise<KeyAges> {
    return new KeyAges(kv, key, await kv.watch({ key }));
  }

  get(key: string): SeenKey | undefined {
    return this.keys.get(key);
  }

  entries(): IterableIterator<[string, SeenKey]> {
    return this.keys.entries();
  }

  stop(): void {
    this.stopped = true;
    this.watch.stop();
  }

  private async follow(caughtUp: () => void): Promise<void> {
    for (;;) {
      try {
        for await (const entry of this.watch) {
          const previous = this.keys.get(entry.key);
          if (previous?.revision !== entry.revision) {
            this.keys.set(entry.key, { value: entry.operation === 'PUT' ? entry.string() : undefined, revision: entry.revision, since: performance.now() });
          }
          // The watch delivers the last values first; `delta` counts those still to come.
          if (entry.delta === 0) caughtUp();
        }
      } catch {
        // The watch broke (NATS gone for long): start another below.
      }
      if (this.stopped) return;
      // Watched again from the last values: a revision already seen keeps its age.
      await sleep(1_000);
      if (this.stopped) return;
      this.watch = await this.kv.watch({ key: this.key }).catch(() => this.watch);
    }
  }
}
