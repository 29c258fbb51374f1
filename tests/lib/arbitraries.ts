import fc from 'fast-check';
import { z } from 'zod';

// No maintained zod→fast-check helper supports zod 4 (zod-fast-check stops at zod 3 and fast-check 3),
// so valid inputs are derived from zod's own JSON Schema export (z.toJSONSchema, io: 'input'),
// then filtered through the schema itself so only inputs zod accepts remain.

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  default?: unknown;
};

const json = fc.jsonValue({ maxDepth: 2 });

function fromJsonSchema(s: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const union = s.anyOf ?? s.oneOf;
  if (union) return fc.oneof(...union.map((x) => fromJsonSchema(x, depth + 1)));
  if (s.allOf?.length === 1) return fromJsonSchema(s.allOf[0]!, depth);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string': {
      if (s.format === 'uuid') return fc.uuid({ version: 4 });
      if (s.format === 'date-time')
        return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
      if (s.format === 'uri') return fc.webUrl();
      if (s.pattern)
        return fc
          .stringMatching(new RegExp(s.pattern))
          .filter((x) => x.length >= (s.minLength ?? 0) && x.length <= (s.maxLength ?? Infinity));
      const minLength = s.minLength ?? 0;
      return fc
        .string({ minLength, maxLength: Math.min(s.maxLength ?? minLength + 40, minLength + 40), unit: 'grapheme' })
        .filter((x) => x.trim().length >= minLength);
    }
    case 'integer':
      return fc.integer({ min: Math.ceil(s.minimum ?? -1_000), max: Math.floor(s.maximum ?? 1_000) });
    case 'number':
      return fc.double({ min: s.minimum ?? -1_000, max: s.maximum ?? 1_000, noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const minLength = s.minItems ?? 0;
      return fc.array(s.items ? fromJsonSchema(s.items, depth + 1) : json, {
        minLength,
        maxLength: Math.min(s.maxItems ?? minLength + 3, minLength + 3),
      });
    }
    case 'object': {
      if (s.properties) {
        const required = new Set(s.required ?? []);
        const record: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [k, v] of Object.entries(s.properties)) record[k] = fromJsonSchema(v, depth + 1);
        return fc.record(record, { requiredKeys: [...required] });
      }
      return depth > 2 ? fc.constant({}) : fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), json, { maxKeys: 3 });
    }
    default:
      return json;
  }
}

/**
 * Inputs shaped by the procedure's own schema. Most pass it; refinements JSON Schema cannot express
 * may still fail, so callers check with `accepts` instead of filtering (a filter that can never be
 * satisfied would spin forever).
 */
export function validInputs(schema: z.ZodType | undefined): fc.Arbitrary<unknown> {
  if (!schema) return fc.constant(undefined);
  const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return fromJsonSchema(js);
}

/**
 * True when the procedure's input schema accepts the value as the server receives it: after the JSON
 * round trip of the wire (NaN and ±Infinity become null, undefined members vanish), which can turn a
 * value the schema refuses into one it accepts. Raw JSON bodies never are.
 */
export const accepts = (schema: z.ZodType | undefined, v: unknown): boolean => {
  if (v instanceof RawJson) return false;
  if (!schema) return true;
  const wire = JSON.stringify(v);
  return schema.safeParse(wire === undefined ? undefined : JSON.parse(wire)).success;
};

/** Strings that have broken services before: injections, unicode edge cases, format tricks. */
export const hostileStrings = [
  "' OR '1'='1",
  "'; DROP TABLE tasks; --",
  'MATCH (n) DETACH DELETE n',
  '}) RETURN 1 // ',
  '`Block` SET n.x = 1',
  '{{7*7}}${7*7}<script>alert(1)</script>',
  '../../../../etc/passwd',
  '\u0000\u0001\u0002',
  '\ud800',
  '\u202e\u200b\ufeff',
  '𝕳𝖊𝖑𝖑𝖔 👩‍👩‍👧‍👦',
  'a'.repeat(1_000_000),
  '$where',
  '__proto__',
  '*:*~ AND title:[* TO *]^9 OR "',
];

/**
 * A request body sent as-is. Deeply nested JSON is kept as text so fast-check never has to walk
 * (or print) thousands of levels of objects.
 */
export class RawJson {
  constructor(readonly text: string) {}
  toString() {
    return `RawJson(${this.text.length} chars: ${this.text.slice(0, 40)}…)`;
  }
}
const deepJson = (depth: number, inner = '"leaf"') => new RawJson(`${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}`);
const withDeepField = (v: object, k: string) => {
  const text = JSON.stringify({ ...v, [k]: '__DEEP__' }).replace('"__DEEP__"', deepJson(2_000).text);
  return new RawJson(text);
};

/** Inputs of the wrong shape: wrong types, huge values, deep nesting, unknown enum values, extra keys. */
export function hostileInputs(schema: z.ZodType | undefined): fc.Arbitrary<unknown> {
  const scalars = fc.oneof(
    fc.constantFrom(...hostileStrings),
    fc.constantFrom(-1, -1e308, 1e308, Number.MAX_SAFE_INTEGER + 2, 0.5, 2 ** 53, -0),
    fc.constantFrom(true, null, [], {}, 'NOT_AN_ENUM_VALUE'),
  );
  const mutate = (v: unknown): fc.Arbitrary<unknown> => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      return fc.oneof(
        keys.length ? fc.tuple(fc.constantFrom(...keys), scalars).map(([k, bad]) => ({ ...(v as object), [k]: bad })) : scalars,
        fc.constant({ ...(v as object), unexpectedKey: 'x', ...(JSON.parse('{"__proto__":{"admin":true}}') as object) }),
        keys.length ? fc.constantFrom(...keys).map((k) => withDeepField(v as object, k)) : fc.constant(deepJson(2_000)),
      );
    }
    return scalars;
  };
  return fc.oneof(scalars, fc.constant(deepJson(5_000)), validInputs(schema).chain(mutate));
}

/**
 * Valid inputs, with long-poll waits clamped: a procedure that may legitimately wait up to 30 s
 * for work (jobs.claim) would otherwise turn a fuzz run into minutes of idle waiting.
 */
export function clampWaits(v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v) && 'waitMs' in v)
    return { ...v, waitMs: Math.min(Number((v as { waitMs: unknown }).waitMs) || 0, 100) };
  return v;
}
