import type { z } from 'zod';

/**
 * Finding the fields of a parsed JSON value that its zod schema does not declare, so `validate` can
 * drop and count them (tolerant reading) or reject the event (strict reading), whether or not the
 * schema is `.strict()`.
 *
 * The schema is read once into a plan: per object, its declared keys and the plans of the values
 * that can hold objects. An event then costs one `for...in` over its keys and a property lookup per
 * key (nested objects and arrays only where the schema has them): this is on every event's path.
 */

/** A field the schema does not declare: its path (`session_hint`, `device.os`, `items[].coupon`) and the object holding it. */
export interface UnknownField {
  readonly path: string;
  readonly holder: Record<string, unknown>;
  readonly key: string;
}

/** How to look for unknown fields in a value; `undefined`: nothing to look for (not an object, or an open one). */
export type FieldPlan = ObjectPlan | ArrayPlan | UnionPlan | undefined;

interface ObjectPlan {
  readonly kind: 'object';
  /** Declared keys (null prototype) and the plan of each one's value. */
  readonly fields: Record<string, FieldPlan | null>;
}

interface ArrayPlan {
  readonly kind: 'array';
  readonly element: FieldPlan;
}

interface UnionPlan {
  readonly kind: 'union';
  /** A discriminated union: the option of each discriminator value. */
  readonly discriminator: string | undefined;
  readonly byValue: ReadonlyMap<unknown, FieldPlan>;
  /** Any other union, or an unmatched discriminator: every option's keys together. */
  readonly merged: FieldPlan;
}

/** The plan of `schema` (read once, when the operator is created). */
export function fieldPlan(schema: z.ZodType): FieldPlan {
  return planOf(schema as unknown as ZodLike, new Set());
}

/** Minimal structural view of zod v4's `_zod.def`, enough to walk the schema. */
interface ZodLike {
  readonly _zod: {
    readonly def: {
      readonly type: string;
      readonly shape?: Record<string, ZodLike>;
      readonly catchall?: ZodLike;
      readonly element?: ZodLike;
      readonly innerType?: ZodLike;
      readonly options?: readonly ZodLike[];
      readonly discriminator?: string;
      readonly in?: ZodLike;
      readonly getter?: () => ZodLike;
      readonly left?: ZodLike;
      readonly right?: ZodLike;
    };
    readonly propValues?: Record<string, Set<unknown>>;
  };
}

function planOf(schema: ZodLike, visiting: Set<ZodLike>): FieldPlan {
  const def = schema._zod.def;
  switch (def.type) {
    case 'object': {
      // `z.looseObject`/`.catchall(...)`: every key is declared.
      if (def.catchall !== undefined && def.catchall._zod.def.type !== 'never') return undefined;
      if (visiting.has(schema)) return undefined;
      visiting.add(schema);
      const fields: Record<string, FieldPlan | null> = Object.create(null);
      for (const [key, value] of Object.entries(def.shape ?? {})) fields[key] = planOf(value, visiting) ?? null;
      visiting.delete(schema);
      return { kind: 'object', fields };
    }
    case 'array': {
      const element = def.element ? planOf(def.element, visiting) : undefined;
      return element === undefined ? undefined : { kind: 'array', element };
    }
    case 'union':
      return unionPlan(def.options ?? [], def.discriminator, visiting);
    case 'intersection':
      return merge([def.left ? planOf(def.left, visiting) : undefined, def.right ? planOf(def.right, visiting) : undefined]);
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'nonoptional':
    case 'readonly':
    case 'catch':
      return def.innerType ? planOf(def.innerType, visiting) : undefined;
    case 'pipe':
      return def.in ? planOf(def.in, visiting) : undefined;
    case 'lazy':
      // Recursive schemas: one level deep is enough to be cheap and useful.
      return def.getter && !visiting.has(schema) ? planOf(def.getter(), new Set([...visiting, schema])) : undefined;
    default:
      return undefined;
  }
}

function unionPlan(options: readonly ZodLike[], discriminator: string | undefined, visiting: Set<ZodLike>): FieldPlan {
  const plans = options.map((option) => planOf(option, visiting));
  const merged = merge(plans);
  if (merged === undefined) return undefined;
  const byValue = new Map<unknown, FieldPlan>();
  if (discriminator !== undefined) {
    options.forEach((option, i) => {
      for (const value of option._zod.propValues?.[discriminator] ?? []) byValue.set(value, plans[i]);
    });
  }
  return { kind: 'union', discriminator, byValue, merged };
}

/** One plan that declares what any of the object plans of `plans` declares (options that are not objects hold no fields). */
function merge(plans: readonly FieldPlan[]): FieldPlan {
  const objects = plans.filter((p): p is ObjectPlan => p?.kind === 'object');
  if (objects.length === 0) return plans.find((p) => p !== undefined);
  if (objects.length === 1) return objects[0];
  const fields: Record<string, FieldPlan | null> = Object.create(null);
  for (const plan of objects) {
    for (const key in plan.fields) {
      const held = fields[key];
      const next = plan.fields[key] ?? null;
      fields[key] = held === undefined ? next : held === null || next === null ? null : (merge([held, next]) ?? null);
    }
  }
  return { kind: 'object', fields };
}

/**
 * Calls `found` for each field of `value` that `plan` does not declare. Returns how many there were.
 * Only plain JSON values are walked (what `JSON.parse` returns).
 */
export function findUnknownFields(plan: FieldPlan, value: unknown, found: (field: UnknownField) => void, path = ''): number {
  if (plan === undefined || value === null || typeof value !== 'object') return 0;
  switch (plan.kind) {
    case 'object': {
      if (Array.isArray(value)) return 0;
      const object = value as Record<string, unknown>;
      const { fields } = plan;
      let unknown = 0;
      for (const key in object) {
        const child = fields[key];
        if (child === undefined) {
          unknown++;
          found({ path: path === '' ? key : `${path}.${key}`, holder: object, key });
        } else if (child !== null) {
          unknown += findUnknownFields(child, object[key], found, path === '' ? key : `${path}.${key}`);
        }
      }
      return unknown;
    }
    case 'array': {
      if (!Array.isArray(value)) return 0;
      let unknown = 0;
      for (const element of value) unknown += findUnknownFields(plan.element, element, found, `${path}[]`);
      return unknown;
    }
    case 'union': {
      const option =
        plan.discriminator === undefined || Array.isArray(value)
          ? plan.merged
          : (plan.byValue.get((value as Record<string, unknown>)[plan.discriminator]) ?? plan.merged);
      return findUnknownFields(option, value, found, path);
    }
  }
}
