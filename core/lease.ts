import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { type KV, type KvEntry, Kvm } from '@nats-io/kv';
import { type NatsConnection, nuid } from '@nats-io/transport-node';
import { z } from 'zod';
import { errorMessage } from '../common/error-message.ts';
import { isUnavailable } from '../sources/unavailable.ts';

/** Who holds a lease: the value of its key. */
const Holder = z.object({
  id: z.string(),
  host: z.string(),
  pid: z.number().int(),
  /** When this holder took the lease, epoch ms (for messages). */
  since: z.number(),
  /** The balancing member (core/membership.ts) that took it, when partitions are balanced automatically. */
  member: z.string().optional(),
});
export type Holder = z.infer<typeof Holder>;

export interface LeaseOptions {
  /** A holder that has not renewed for this long (by the waiter's own clock) is taken for dead. */
  ttlMs: number;
  /** Aborts waiting for the lease. */
  signal: AbortSignal;
  log?: (message: string) => void;
  /** Written in the holder's value: the balancing member (core/membership.ts) taking it. */
  member?: string;
  /** Copies of the lease bucket on a cluster, if this creates it (see `leaseStore`). @default 1 */
  replicas?: number;
}

/** The lease was taken over by another process: this one must not checkpoint or ack again. */
export class LeaseLost extends Error {
  constructor(key: string, detail: string) {
    super(`lost the lease on '${key}' (${detail}): another process runs it now; stopping without acking`);
    this.name = 'LeaseLost';
  }
}

/** Ids of the leases this process holds, to tell its own live holders from a dead process's that had its pid. */
const heldHere = new Set<string>();

/** The KV bucket of the leases beside a checkpoint bucket. */
export function leaseBucket(checkpointBucket: string): string {
  return `${checkpointBucket}_leases`;
}

/**
 * Exclusive ownership of one runner's state (a pipeline's partition, or the whole unpartitioned
 * pipeline): its durable consumer, its checkpoint and its acks. Two runners of one partition would
 * split its windows between them, and one's AckAll could ack messages the other has not processed.
 *
 * A key in a NATS KV bucket holds the holder, rewritten every `ttlMs / 3` with compare-and-set on
 * its revision. Another runner of the same key waits: it takes the lease once the key is deleted
 * (a graceful stop), once its revision has not changed for `ttlMs` by the waiter's own clock (a
 * holder that died; no clocks are compared), or at once when the holder is a process of this host
 * that is gone (a restart after a crash). A holder whose compare-and-set fails has lost the lease:
 * `confirm()` throws, and the checkpointer confirms right before each checkpoint and ack (core/checkpointer.ts).
 *
 * A renewal whose reply was lost (a timeout while a cluster elects the bucket's leader) may have
 * been written: the next one then finds another revision, and the key is read to tell. Only this
 * holder writes its value (its id is in it), so finding that value means the write was its own.
 */
export class Lease {
  private revision: number;
  private lostReason: LeaseLost | undefined;
  private readonly timer: NodeJS.Timeout;
  private renewing: Promise<void> | undefined;
  private readonly onLost: Array<(error: LeaseLost) => void> = [];

  private constructor(
    private readonly kv: KV,
    private readonly key: string,
    private readonly value: string,
    revision: number,
    /** This holder's id, unique to this taking of the lease (it names the holder of the checkpoint pointer, core/latest-checkpoint.ts). */
    readonly id: string,
    private readonly log: (message: string) => void,
    ttlMs: number,
  ) {
    this.revision = revision;
    heldHere.add(id);
    this.timer = setInterval(() => void this.renew().catch(() => {}), ttlMs / 3);
    this.timer.unref();
  }

  /** Take the lease on `key`, waiting while another live process holds it. Rejects when `signal` aborts. */
  static async acquire(nc: NatsConnection, bucket: string, key: string, options: LeaseOptions): Promise<Lease> {
    const { ttlMs, signal } = options;
    const log = options.log ?? (() => {});
    const kv = await leaseStore(nc, bucket, options.replicas);
    const { id, value } = newHolder(options.member);
    let watched: { revision: number; since: number } | undefined;
    for (;;) {
      signal.throwIfAborted();
      let entry: KvEntry | null;
      try {
        const created = await unlessConflict(kv.create(key, value));
        if (created !== undefined) return new Lease(kv, key, value, created, id, log, ttlMs);
        entry = await kv.get(key);
      } catch (error) {
        // NATS not answering (a restart, a cluster electing the bucket's leader): ask again. A
        // create that landed without its reply is found next time with this holder's value, from
        // a process that is gone (this one does not hold it yet), and taken over.
        if (!isUnavailable(error)) throw error;
        log(`could not reach the lease on '${key}' (will retry): ${errorMessage(error)}`);
        // Nor can its holder renew it meanwhile: its silence counts from when the bucket answers again.
        if (watched) watched = { revision: watched.revision, since: performance.now() };
        await sleep(Math.min(1_000, ttlMs / 3), undefined, { signal }).catch(() => signal.throwIfAborted());
        continue;
      }
      if (entry === null || entry.operation !== 'PUT') continue; // deleted meanwhile (a graceful stop): create again
      const holder = parseHolder(entry.string());
      const now = performance.now();
      if (watched?.revision !== entry.revision) {
        if (watched === undefined) log(`waiting for '${key}': held by ${describe(holder)}`);
        watched = { revision: entry.revision, since: now };
      }
      const gone = holder !== undefined && isGoneHere(holder);
      if (gone || now - watched.since >= ttlMs) {
        const taken = await unlessConflict(kv.update(key, value, entry.revision)).catch((error: unknown) => {
          if (!isUnavailable(error)) throw error;
          return undefined; // asked again on the next round, as above
        });
        if (taken !== undefined) {
          log(`took '${key}' over from ${describe(holder)}: ${gone ? 'that process is gone' : `not renewed for ${ttlMs} ms`}`);
          return new Lease(kv, key, value, taken, id, log, ttlMs);
        }
      }
      await sleep(Math.min(1_000, ttlMs / 3), undefined, { signal }).catch(() => signal.throwIfAborted());
    }
  }

  /**
   * Take the lease on `key` if it is free, or if its holder is `stale` (a revision of the key the
   * caller saw unchanged for `ttlMs`: compare-and-set on it); undefined otherwise, without waiting.
   * For automatic balancing (core/balancer.ts), which watches the keys itself.
   */
  static async take(
    nc: NatsConnection,
    bucket: string,
    key: string,
    options: Omit<LeaseOptions, 'signal'> & { stale?: number | undefined },
  ): Promise<Lease | undefined> {
    const kv = await leaseStore(nc, bucket, options.replicas);
    const { id, value } = newHolder(options.member);
    const log = options.log ?? (() => {});
    const taken =
      (await unlessConflict(kv.create(key, value))) ?? (options.stale !== undefined ? await unlessConflict(kv.update(key, value, options.stale)) : undefined);
    return taken === undefined ? undefined : new Lease(kv, key, value, taken, id, log, options.ttlMs);
  }

  /** Called once, when another process is found to hold the lease. */
  whenLost(listener: (error: LeaseLost) => void): void {
    this.onLost.push(listener);
  }

  /** Renew now; throws `LeaseLost` if another process holds the lease. Call right before a checkpoint and its ack. */
  async confirm(): Promise<void> {
    await this.renew();
    if (this.lostReason) throw this.lostReason;
  }

  /** Stop renewing and delete the key if this process still holds it, so a waiting runner takes over at once. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.renewing?.catch(() => {});
    heldHere.delete(this.id);
    if (this.lostReason) return;
    await this.kv.delete(this.key, { previousSeq: this.revision }).catch(() => {});
  }

  private renew(): Promise<void> {
    // One renewal at a time: each compares against the revision the last one wrote.
    this.renewing ??= this.kv
      .update(this.key, this.value, this.revision)
      .then(
        (revision) => {
          this.revision = revision;
        },
        async (error: unknown) => {
          if (isWrongRevision(error)) {
            // Rewritten since: by an earlier renewal of ours whose reply was lost, or by another process.
            const entry = await this.kv.get(this.key).catch((reading: unknown) => {
              this.log(`could not read the lease on '${this.key}' after a conflicting renewal (will retry): ${errorMessage(reading)}`);
              return undefined;
            });
            if (entry === undefined) return;
            if (entry?.operation === 'PUT' && entry.string() === this.value) {
              this.revision = entry.revision;
              return;
            }
            return this.lose(new LeaseLost(this.key, 'its key was rewritten'));
          }
          // NATS unreachable: nobody else can take the lease either; the next renewal tells.
          this.log(`could not renew the lease on '${this.key}' (will retry): ${errorMessage(error)}`);
        },
      )
      .finally(() => {
        this.renewing = undefined;
      });
    return this.renewing;
  }

  private lose(error: LeaseLost): void {
    if (this.lostReason) return;
    this.lostReason = error;
    clearInterval(this.timer);
    heldHere.delete(this.id);
    for (const listener of this.onLost) listener(error);
  }
}

function newHolder(member: string | undefined): { id: string; value: string } {
  const id = nuid.next();
  const holder: Holder = { id, host: hostname(), pid: process.pid, since: Date.now(), ...(member !== undefined ? { member } : {}) };
  return { id, value: JSON.stringify(holder) };
}

/** The holder in a lease key's value; undefined when it is not one. */
export function parseHolder(text: string): Holder | undefined {
  try {
    return Holder.safeParse(JSON.parse(text)).data;
  } catch {
    return undefined; // not JSON
  }
}

/**
 * The KV bucket of the leases, created if missing (the same options everywhere: NATS refuses a
 * bucket redefined), with `replicas` copies on a cluster; an existing bucket is opened as it is.
 */
export function leaseStore(nc: NatsConnection, bucket: string, replicas = 1): Promise<KV> {
  return new Kvm(nc).create(bucket, { history: 1, replicas, description: 'rxa: which process runs each pipeline partition' });
}

/** A compare-and-set's new revision, or undefined when it found another revision (a key that exists, for create). */
function unlessConflict(write: Promise<number>): Promise<number | undefined> {
  return write.catch((error: unknown) => {
    if (isWrongRevision(error)) return undefined;
    throw error;
  });
}

/** A compare-and-set that found another revision (or a key that exists, for create). */
export function isWrongRevision(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence || error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/** A holder on this host whose process is gone (or is this process under a pid reused after a restart, with a lease it does not hold). */
export function isGoneHere(holder: Pick<Holder, 'host' | 'pid'> & { id?: string }): boolean {
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return holder.id !== undefined && !heldHere.has(holder.id);
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function describe(holder: Holder | undefined): string {
  return holder ? `${holder.host} pid ${holder.pid} since ${new Date(holder.since).toISOString()}` : 'an unknown holder';
}
