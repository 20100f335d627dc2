import { exportJsonSchema, resolveContract } from './event-contract.ts';
import type { CompatibilityMode, PipelineDefinition } from './pipeline.ts';
import { breakingChanges, compareSchemas, formatChanges, type SchemaChange } from './schema-compatibility.ts';
import type { RegistryEntry } from './schema-registry.ts';

/**
 * A pipeline's event schema against the latest registered version of its event type
 * (`rxa schema check`, `rxa schema push`, `rxa run`), under a compatibility mode:
 *
 * - the same version: the two schemas are compared under the mode;
 * - a newer version than the registered one: events of the registered version are read by the
 *   pipeline's declaration of that version and its upcaster, so that declaration is compared with
 *   the registered schema under the mode; the new version's changes are listed, not judged;
 * - a registered version the pipeline does not declare (older: dropped from `previous`, newer: the
 *   pipeline is behind) is incompatible: its events would be dead-lettered.
 */
export interface ContractCheck {
  readonly type: string;
  readonly version: number;
  readonly mode: CompatibilityMode;
  /** The version compared with, undefined when nothing is registered. */
  readonly registered: RegistryEntry | undefined;
  readonly compatible: boolean;
  /** What the check found, one line each: a summary, then the changes (`✗` breaking, `✓` not). */
  readonly lines: readonly string[];
  readonly breaking: readonly SchemaChange[];
  /** The current schema as JSON Schema (what `push` registers). */
  readonly jsonSchema: Record<string, unknown>;
}

export function checkContract(definition: PipelineDefinition, registered: RegistryEntry | undefined, mode?: CompatibilityMode): ContractCheck {
  const contract = resolveContract(definition);
  const { type, version } = contract;
  const checkMode = mode ?? contract.compatibility;
  const jsonSchema = exportJsonSchema(definition.schema, `pipeline ${definition.name}, '${type}' version ${version}`);
  const result = (compatible: boolean, lines: string[], breaking: SchemaChange[] = []): ContractCheck => ({
    type,
    version,
    mode: checkMode,
    registered,
    compatible,
    lines,
    breaking,
    jsonSchema,
  });
  if (registered === undefined)
    return result(true, [`'${type}' has no registered schema: version ${version} is compatible (register it with rxa schema push)`]);
  const strictReaders = contract.unknownFields === 'reject';
  const against = `version ${registered.version} registered (revision ${registered.revision})`;
  if (registered.version > version) {
    return result(false, [
      `'${type}' ${against} is newer than this pipeline's version ${version}: its events would be dead-lettered; update the pipeline to version ${registered.version}`,
    ]);
  }
  const declared = contract.schemas.get(registered.version);
  if (declared === undefined) {
    return result(false, [
      `'${type}' ${against} is not declared by the pipeline (contract.previous): its events would be dead-lettered; declare it with an upcaster to version ${version}`,
    ]);
  }
  if (registered.version === version) {
    const changes = compareSchemas(registered.schema, jsonSchema, { strictReaders });
    const breaking = breakingChanges(changes, checkMode);
    const summary =
      changes.length === 0
        ? `'${type}' version ${version}: unchanged since ${against}`
        : breaking.length === 0
          ? `'${type}' version ${version}: ${changes.length} change${changes.length > 1 ? 's' : ''}, ${checkMode}-compatible with ${against}`
          : `'${type}' version ${version}: ${breaking.length} change${breaking.length > 1 ? 's' : ''} not ${checkMode}-compatible with ${against}`;
    return result(breaking.length === 0, [summary, ...formatChanges(changes, checkMode).map((l) => `  ${l}`)], breaking);
  }
  // A new version: the registered one is read by its declaration and upcaster.
  const declaredJson = exportJsonSchema(declared, `pipeline ${definition.name}, '${type}' version ${registered.version}`);
  const drift = compareSchemas(registered.schema, declaredJson, { strictReaders });
  const breaking = breakingChanges(drift, checkMode);
  const news = compareSchemas(registered.schema, jsonSchema, { strictReaders });
  const lines =
    breaking.length === 0
      ? [`'${type}' version ${version} is new: events of ${against} are read by the pipeline's version ${registered.version} and its upcaster`]
      : [`'${type}' version ${registered.version} as the pipeline declares it is not ${checkMode}-compatible with ${against}:`];
  lines.push(...formatChanges(drift, checkMode).map((l) => `  ${l}`));
  if (news.length > 0) {
    lines.push(`changes from version ${registered.version} to ${version} (made by the upcaster):`);
    lines.push(...news.map((c) => `  · ${formatChanges([c], 'none')[0]!.slice(2)}`));
  }
  return result(breaking.length === 0, lines, breaking);
}
