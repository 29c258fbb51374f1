import ts from 'typescript';
import { printNode, sourceFile } from './program.js';

/** The services whose routers the package types: the service name, its router module and factory. */
export const ROUTERS = [
  { service: 'knowledge', typeName: 'KnowledgeRouter', file: 'services/knowledge/src/router/index.ts', factory: 'createKnowledgeRouter' },
  {
    service: 'operations',
    typeName: 'OperationsRouter',
    file: 'services/operations/src/router/index.ts',
    factory: 'createOperationsRouter',
  },
  {
    service: 'coordination',
    typeName: 'CoordinationRouter',
    file: 'services/coordination/src/router/index.ts',
    factory: 'createCoordinationRouter',
  },
] as const;

/**
 * What the compiler's declaration of a router refers to outside @trpc/server, and what the
 * published file says instead. A caller needs each procedure's input and output and the error
 * shape; the request context (logger, principal) and the OpenAPI meta are the server's business,
 * and naming them would drag pino, jose, trpc-to-openapi… into every caller's install.
 */
const REPLACED: Record<string, Record<string, string>> = {
  '@platform/kit': { RequestContext: 'ServerContext', ProblemIssue: 'ProblemIssue' },
  'trpc-to-openapi': { OpenApiMeta: 'ProcedureMeta' },
  'zod/v4/core': { $ZodIssue: 'ZodIssue' },
  // A subscription's events (tRPC's `tracked(id, data)` as the client receives them).
  '@trpc/server/unstable-core-do-not-import': { TrackedData: 'TrackedData' },
};

/** Declarations of the stand-ins above, written once at the top of the published file. */
const STANDINS = `/** The server's request context. Callers never see it; it only completes tRPC's router type. */
export type ServerContext = object;
/** The server's procedure metadata (OpenAPI paths). Callers never see it. */
export type ProcedureMeta = object;
/** One input problem of a refused call: where in the input (path), what (message) and which check (code). */
export interface ProblemIssue {
    path: Array<string | number>;
    message: string;
    code: string;
}
/** A zod issue as the server reports it in \`error.data.zodIssues\` (zod's $ZodIssue, structurally). */
export interface ZodIssue {
    readonly code: string;
    readonly path: PropertyKey[];
    readonly message: string;
    readonly input?: unknown;
    readonly [key: string]: unknown;
}
/** One event of a subscription: \`id\` goes back as \`lastEventId\` when the client resumes (tRPC's TrackedData). */
export interface TrackedData<TData> {
    id: string;
    data: TData;
}`;

const TRPC = '@trpc/server';

/**
 * The published router declarations: for each service, the return type of its router factory as
 * the compiler's own declaration emit spells it (every procedure's input and output inlined), with
 * references outside @trpc/server replaced by the stand-ins above. Anything else the declaration
 * names is an error: a new server-side type leaking into the router would otherwise ship silently.
 */
export function routerDeclarations(program: ts.Program): string {
  const trpcNames = new Set<string>();
  const rootTypes = new Map<string, string>(); // printed root config → alias name
  const errorShapes = new Map<string, string>(); // printed error shape → alias name
  const unknown: string[] = [];
  const routers: string[] = [];

  // Every (sub)router repeats the same root config (context, meta, error shape): named once.
  const nameRootTypes = (ref: ts.TypeReferenceNode, from: ts.SourceFile): ts.TypeReferenceNode => {
    const [root, record] = ref.typeArguments ?? [];
    if (!ts.isIdentifier(ref.typeName) || ref.typeName.text !== 'TRPCBuiltRouter' || !root || !record || !ts.isTypeLiteralNode(root))
      return ref;
    const text = printNode(root, from);
    let alias = rootTypes.get(text);
    if (!alias) rootTypes.set(text, (alias = rootTypes.size === 0 ? 'RootTypes' : `RootTypes${rootTypes.size + 1}`));
    return ts.factory.updateTypeReferenceNode(
      ref,
      ref.typeName,
      ts.factory.createNodeArray([ts.factory.createTypeReferenceNode(alias), record]),
    );
  };

  for (const r of ROUTERS) {
    const emitted = emitDeclaration(program, r.file);
    const decl = emitted.statements.find((s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name?.text === r.factory);
    if (!decl?.type) throw new Error(`${r.file}: no declared return type for ${r.factory}`);

    const rewrite = (node: ts.Node): ts.Node => {
      if (ts.isImportTypeNode(node)) {
        const from = ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal) ? node.argument.literal.text : '?';
        const name = node.qualifier && ts.isIdentifier(node.qualifier) ? node.qualifier.text : '?';
        const args = node.typeArguments?.map((a) => ts.visitNode(a, rewrite) as ts.TypeNode);
        if (from === TRPC) {
          trpcNames.add(name);
          return nameRootTypes(ts.factory.createTypeReferenceNode(name, args), emitted);
        }
        const standin = REPLACED[from]?.[name];
        if (!standin) {
          unknown.push(`${r.service}: import("${from}").${name}`);
          return node;
        }
        return ts.factory.createTypeReferenceNode(standin, args);
      }
      const visited = ts.visitEachChild(node, rewrite, undefined);
      // Every procedure repeats the error shape too.
      if (
        ts.isPropertySignature(visited) &&
        visited.type &&
        ts.isTypeLiteralNode(visited.type) &&
        ts.isIdentifier(visited.name) &&
        visited.name.text === 'errorShape'
      ) {
        const text = printNode(visited.type, emitted);
        let alias = errorShapes.get(text);
        if (!alias) errorShapes.set(text, (alias = errorShapes.size === 0 ? 'ErrorShape' : `ErrorShape${errorShapes.size + 1}`));
        return ts.factory.updatePropertySignature(
          visited,
          visited.modifiers,
          visited.name,
          visited.questionToken,
          ts.factory.createTypeReferenceNode(alias),
        );
      }
      return visited;
    };
    const type = ts.visitNode(decl.type, rewrite) as ts.TypeNode;
    routers.push(
      `/** The ${r.service} service's tRPC router (served at \`/trpc\`), as its typed client sees it. */\nexport type ${r.typeName} = ${printNode(type, emitted)};`,
    );
  }
  if (unknown.length > 0) {
    throw new Error(
      `router types name declarations the client package cannot ship (add a stand-in or keep them out of the router's types):\n  ${[...new Set(unknown)].join('\n  ')}`,
    );
  }

  const shapes = [...errorShapes].map(
    ([text, alias]) =>
      `/** What a failed call carries (\`TRPCClientError.shape\`); \`data\` holds the RFC 9457 problem members, \`code\` and the input's issues. */\nexport type ${alias} = ${text};`,
  );
  const roots = [...rootTypes].map(
    ([text, alias]) =>
      `/** tRPC's root types of the services' routers (one for all three): no transformer, ErrorShape for failures. */\nexport type ${alias} = ${text};`,
  );
  return [
    `import type { ${[...trpcNames].sort().join(', ')} } from '${TRPC}';`,
    STANDINS,
    ...shapes,
    ...roots,
    ...routers,
    `/** The three routers by service name. */\nexport interface PlatformRouters {\n${ROUTERS.map((r) => `    ${r.service}: ${r.typeName};`).join('\n')}\n}`,
    `export type ServiceName = keyof PlatformRouters;`,
    '',
  ].join('\n');
}

/** The declaration file the compiler emits for one module (in memory), parsed. */
function emitDeclaration(program: ts.Program, file: string): ts.SourceFile {
  let text: string | undefined;
  const result = program.emit(
    sourceFile(program, file),
    (name, data) => {
      if (name.endsWith('.d.ts')) text = data;
    },
    undefined,
    true,
  );
  const errors = result.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0 || text === undefined) {
    throw new Error(
      `${file}: declaration emit failed: ${errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')).join('; ')}`,
    );
  }
  return ts.createSourceFile(`${file}.d.ts`, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}
