import { z } from 'zod';
import { errorMessage } from '../common/error-message.ts';
import type { EventVersions, PreviousVersion } from '../operators/event-versions.ts';
import type { UnknownFields } from '../operators/validate.ts';
import type { CompatibilityMode, PipelineDefinition } from './pipeline.ts';

/** A pipeline's event contract with its defaults filled in (see `EventContract` in core/pipeline.ts). */
export interface ResolvedContract {
  readonly type: string;
  readonly version: number;
  /** Every declared version's schema, current included. */
  readonly schemas: ReadonlyMap<number, z.ZodType>;
  readonly versions: EventVersions<unknown>;
  readonly unknownFields: UnknownFields;
  readonly compatibility: CompatibilityMode;
  readonly dataschema: (version: number) => string;
}

/** The default `ce-dataschema` of a version of an event type. */
export function defaultDataschema(type: string): (version: number) => string {
  return (version) => `urn:rxa:${type}:${version}`;
}

export function resolveContract(definition: Pick<PipelineDefinition, 'name' | 'schema' | 'contract'>): ResolvedContract {
  const contract = definition.contract ?? {};
  const type = contract.type ?? definition.name;
  const version = contract.version ?? 1;
  const previous: Record<number, PreviousVersion<unknown>> = { ...contract.previous };
  const schemas = new Map<number, z.ZodType>([[version, definition.schema]]);
  for (const [key, old] of Object.entries(previous)) schemas.set(Number(key), old.schema);
  const dataschema = contract.dataschema ?? defaultDataschema(type);
  return {
    type,
    version,
    schemas: new Map([...schemas].sort(([a], [b]) => a - b)),
    versions: {
      current: version,
      previous,
      ...(contract.unversioned !== undefined ? { unversioned: contract.unversioned } : {}),
      dataschema,
    },
    unknownFields: contract.unknownFields ?? 'count',
    compatibility: contract.compatibility ?? 'backward',
    dataschema,
  };
}

/**
 * A schema as JSON Schema, zod's own export (`z.toJSONSchema`), of what producers send (`io:
 * 'input'`). Throws, naming the type and version, for what JSON Schema cannot say (a `z.custom`,
 * a `z.date()`, a transform's output).
 */
export function exportJsonSchema(schema: z.ZodType, what: string): Record<string, unknown> {
  try {
    return z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${what}: the schema cannot be exported as JSON Schema (${errorMessage(error)}); use JSON types only (docs/contracts.md)`);
  }
}
