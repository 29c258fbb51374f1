import ts from 'typescript';
import { sourceFile } from './program.js';

/** Declares the contracts' event types under names the generator looks up (type-checked with the package). */
export const EVENT_TYPES_ENTRY = 'shared/client/build/event-types.entry.ts';

/**
 * The published event types: the envelope and each subject's payload, printed as plain structural
 * types from the contracts' zod schemas (z.infer resolved), so subscribers get exact payload types
 * without zod's type machinery or the contracts package. The runtime validators ship separately
 * (dist/index.js bundles the same schemas).
 */
export function eventDeclarations(program: ts.Program): string {
  const checker = program.getTypeChecker();
  const entry = sourceFile(program, EVENT_TYPES_ENTRY);
  const moduleSymbol = checker.getSymbolAtLocation(entry);
  if (!moduleSymbol) throw new Error(`${EVENT_TYPES_ENTRY} is not a module`);
  const exported = (name: string): ts.Type => {
    const s = checker.getExportsOfModule(moduleSymbol).find((e) => e.name === name);
    if (!s) throw new Error(`${EVENT_TYPES_ENTRY} does not export ${name}`);
    return checker.getDeclaredTypeOfSymbol(s);
  };
  const print = structuralPrinter(checker);
  return [
    `/** The envelope every service publishes on NATS JetStream; \`id\` is also the message's Nats-Msg-Id (dedupe by it). */`,
    `export interface EventEnvelope ${print(exported('Envelope'))}`,
    `/** Each subject's payload (\`envelope.data\`). Subjects are \`<service>.<entity>.<past-tense-verb>\`. */`,
    `export interface EventDataMap ${print(exported('DataMap'))}`,
    `export type EventSubject = keyof EventDataMap;`,
    `export type EventData<S extends EventSubject> = EventDataMap[S];`,
    `/**`,
    ` * An envelope whose subject and payload were checked (parseEnvelope). Distributes over a union of`,
    ` * subjects, so testing \`envelope.subject\` narrows \`envelope.data\` to that subject's payload.`,
    ` */`,
    `export type TypedEnvelope<S extends EventSubject> = S extends EventSubject ? Omit<EventEnvelope, 'subject' | 'data'> & {`,
    `    subject: S;`,
    `    data: EventDataMap[S];`,
    `} : never;`,
    '',
  ].join('\n');
}

/**
 * Prints a type structurally: primitives, literals, unions, arrays, tuples, object types with
 * their properties (and JSDoc) and index signatures. Anything else (functions, classes, generics
 * from other packages) throws: event payloads are JSON, and a type the printer does not know is
 * a payload the published declaration would get wrong.
 */
function structuralPrinter(checker: ts.TypeChecker): (type: ts.Type) => string {
  const print = (t: ts.Type, indent: string, depth: number): string => {
    if (depth > 12) throw new Error(`event type nests too deep (recursive?): ${checker.typeToString(t)}`);
    const f = t.flags;
    if (f & ts.TypeFlags.Unknown) return 'unknown';
    if (f & ts.TypeFlags.Any) return 'unknown';
    if (f & ts.TypeFlags.String) return 'string';
    if (f & ts.TypeFlags.Number) return 'number';
    if (f & ts.TypeFlags.Boolean) return 'boolean';
    if (f & ts.TypeFlags.Null) return 'null';
    if (f & ts.TypeFlags.Undefined) return 'undefined';
    if (f & ts.TypeFlags.Never) return 'never';
    if (t.isStringLiteral()) return JSON.stringify(t.value);
    if (t.isNumberLiteral()) return String(t.value);
    if (f & ts.TypeFlags.BooleanLiteral) return checker.typeToString(t);
    if (t.isUnion()) {
      const parts = t.types.map((m) => print(m, indent, depth + 1));
      // The checker spells `boolean` as the union of its two literals.
      const bool = parts.includes('true') && parts.includes('false') ? ['boolean'] : [];
      // null and undefined last, as people write them.
      const rest = parts.filter((p) => !['true', 'false', 'null', 'undefined'].includes(p));
      const empty = ['null', 'undefined'].filter((p) => parts.includes(p));
      return [...new Set([...rest, ...bool, ...empty])].join(' | ');
    }
    if (t.isIntersection()) return t.types.map((m) => `(${print(m, indent, depth + 1)})`).join(' & ');
    if (checker.isTupleType(t))
      return `[${checker
        .getTypeArguments(t as ts.TypeReference)
        .map((a) => print(a, indent, depth + 1))
        .join(', ')}]`;
    if (checker.isArrayType(t)) {
      const [element] = checker.getTypeArguments(t as ts.TypeReference);
      if (!element) throw new Error(`array without element type: ${checker.typeToString(t)}`);
      const inner = print(element, indent, depth + 1);
      return /[|&]/.test(inner) ? `(${inner})[]` : `${inner}[]`;
    }
    if (f & ts.TypeFlags.Object) {
      if (t.getCallSignatures().length > 0 || t.getConstructSignatures().length > 0)
        throw new Error(`functions are not JSON: ${checker.typeToString(t)}`);
      const inner = `${indent}    `;
      const lines: string[] = [];
      for (const info of checker.getIndexInfosOfType(t)) {
        lines.push(`${inner}[key: ${print(info.keyType, inner, depth + 1)}]: ${print(info.type, inner, depth + 1)};`);
      }
      for (const p of checker.getPropertiesOfType(t)) {
        const doc = ts.displayPartsToString(p.getDocumentationComment(checker)).trim();
        if (doc) lines.push(`${inner}/** ${doc.replace(/\*\//g, '*\\/').replace(/\n/g, ' ')} */`);
        const optional = p.flags & ts.SymbolFlags.Optional ? '?' : '';
        const key = /^[A-Za-z_$][\w$]*$/.test(p.name) ? p.name : JSON.stringify(p.name);
        lines.push(`${inner}${key}${optional}: ${print(checker.getTypeOfSymbol(p), inner, depth + 1)};`);
      }
      return lines.length === 0 ? '{}' : `{\n${lines.join('\n')}\n${indent}}`;
    }
    throw new Error(`cannot print ${checker.typeToString(t)} as a JSON type`);
  };
  return (type) => print(type, '', 0);
}
