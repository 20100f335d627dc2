import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { errorMessage } from '../common/error-message.ts';
import { CompatibilityMode } from './pipeline.ts';
import { parseJsonSchema } from './schema-compatibility.ts';

/**
 * The schema registry: one NATS KV key per event type, its value the latest registered version
 * (JSON Schema, zod's export), its history the earlier ones (`rxa schema push`). The bucket sits
 * beside the checkpoints: `<checkpoint bucket>_schemas`.
 */

/** Revisions kept per event type (the most a NATS KV bucket keeps). */
const HISTORY = 64;

export const RegisteredSchema = z
  .object({
    type: z.string().min(1),
    version: z.number().int().min(1),
    compatibility: CompatibilityMode,
    pipeline: z.string(),
    registeredAt: z.iso.datetime(),
    schema: z.record(z.string(), z.unknown()),
  })
  .strict();
export type RegisteredSchema = z.output<typeof RegisteredSchema>;

/** A registered version with its KV revision. */
export interface RegistryEntry extends RegisteredSchema {
  readonly revision: number;
}

export function schemaBucket(checkpointBucket: string): string {
  return `${checkpointBucket}_schemas`;
}

export class SchemaRegistry {
  private constructor(
    private readonly kv: KV,
    readonly bucket: string,
  ) {}

  /**
   * The registry's bucket, created if missing (the same options everywhere: NATS refuses a bucket
   * redefined), with `replicas` copies on a cluster; an existing bucket is opened as it is.
   */
  static async open(nc: NatsConnection, bucket: string, replicas = 1): Promise<SchemaRegistry> {
    const kv = await new Kvm(nc).create(bucket, { history: HISTORY, replicas, description: 'rxa: registered event schemas, one key per event type' });
    return new SchemaRegistry(kv, bucket);
  }

  /** The latest registered version of `type`, or undefined. Throws, naming the entry, when it is not a valid registration. */
  async latest(type: string): Promise<RegistryEntry | undefined> {
    const entry = await this.kv.get(type);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    return this.parse(type, entry.revision, entry.string());
  }

  /** Every registered version of `type` still in the history, oldest first. */
  async history(type: string): Promise<RegistryEntry[]> {
    const out: RegistryEntry[] = [];
    for await (const entry of await this.kv.history({ key: type })) {
      if (entry.operation === 'PUT') out.push(this.parse(type, entry.revision, entry.string()));
    }
    return out;
  }

  /** Register a version (its JSON Schema checked first); returns the new revision. */
  async put(record: RegisteredSchema): Promise<number> {
    const valid = RegisteredSchema.parse(record);
    parseJsonSchema(valid.schema, `the schema of '${valid.type}' version ${valid.version}`);
    return this.kv.put(valid.type, JSON.stringify(valid));
  }

  private parse(type: string, revision: number, text: string): RegistryEntry {
    const where = `schema registry entry '${type}' (bucket ${this.bucket}, revision ${revision})`;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new Error(`${where} is not JSON: ${errorMessage(error)}`);
    }
    const result = RegisteredSchema.safeParse(value);
    if (!result.success) {
      const issues = result.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new Error(`${where} is not a registration: ${issues.join('; ')}`);
    }
    parseJsonSchema(result.data.schema, where);
    return { ...result.data, revision };
  }
}
