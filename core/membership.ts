import { hostname } from 'node:os';
import type { KV } from '@nats-io/kv';
import { nuid } from '@nats-io/transport-node';
import { z } from 'zod';
import { errorMessage } from '../common/error-message.ts';
import { isGoneHere } from './lease.ts';

/** A member key's value: the process, so one of this host whose process is gone counts out at once. */
const Member = z.object({ host: z.string(), pid: z.number().int() });

/** Whether a member key's value names a process of this host that is gone (a restart after a crash). */
export function isMemberGoneHere(value: string): boolean {
  try {
    const member = Member.safeParse(JSON.parse(value)).data;
    return member !== undefined && member.pid !== process.pid && isGoneHere(member);
  } catch {
    return false; // not JSON
  }
}

/** The key prefix of a pipeline's balancing members in the lease bucket: `members.<pipeline>.<member id>`. */
export function membersPrefix(pipeline: string): string {
  return `members.${pipeline}`;
}

/**
 * This process as a member among those sharing a pipeline's partitions (core/balancer.ts): a key
 * in the lease bucket, rewritten every third of the lease TTL. A member whose key has not changed
 * for the TTL (by the observer's clock) is dead; a member that stops deletes its key.
 */
export class Membership {
  readonly id = nuid.next();
  readonly key: string;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly kv: KV,
    pipeline: string,
    ttlMs: number,
    private readonly log: (message: string) => void,
  ) {
    this.key = `${membersPrefix(pipeline)}.${this.id}`;
    this.timer = setInterval(() => void this.beat(), ttlMs / 3);
    this.timer.unref();
  }

  static async join(kv: KV, pipeline: string, ttlMs: number, log: (message: string) => void): Promise<Membership> {
    const member = new Membership(kv, pipeline, ttlMs, log);
    await member.beat(true);
    return member;
  }

  /** Delete the key: the others count this process out at once. */
  async leave(): Promise<void> {
    clearInterval(this.timer);
    await this.kv.delete(this.key).catch(() => {});
  }

  private async beat(first = false): Promise<void> {
    const value = JSON.stringify({ host: hostname(), pid: process.pid } satisfies z.infer<typeof Member>);
    try {
      await this.kv.put(this.key, value);
    } catch (error) {
      if (first) throw error;
      // NATS unreachable: the leases cannot be renewed either; the next beat tells.
      this.log(`could not renew membership (will retry): ${errorMessage(error)}`);
    }
  }
}
