import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** What the published files may import: tRPC (a peer), zod (the validators' runtime) and each other. */
const ALLOWED = {
  '.d.ts': new Set(['@trpc/client', '@trpc/server']),
  '.js': new Set(['@trpc/client', 'zod']),
};

/**
 * Every module the files in `dist` import that a published install cannot or must not resolve:
 * another workspace package, a server dependency (neo4j-driver, pg, @prisma/*, nats, pino…), a
 * Node built-in, or a missing sibling. Reads imports, re-exports, `import("…")` types and
 * dynamic imports from the syntax tree, so a comment or a string does not count.
 */
export function forbiddenImports(distDir: string): string[] {
  const problems: string[] = [];
  for (const file of readdirSync(distDir)) {
    const kind = file.endsWith('.d.ts') ? '.d.ts' : file.endsWith('.js') ? '.js' : null;
    if (!kind) continue;
    const text = readFileSync(path.join(distDir, file), 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind === '.js' ? ts.ScriptKind.JS : ts.ScriptKind.TS);
    for (const spec of moduleSpecifiers(sf)) {
      if (spec.startsWith('./')) {
        const target = kind === '.d.ts' ? spec.replace(/\.js$/, '.d.ts') : spec;
        if (!existsSync(path.join(distDir, target))) problems.push(`${file}: imports ${spec}, which is not in dist`);
      } else if (!ALLOWED[kind].has(spec)) {
        problems.push(`${file}: imports ${spec}`);
      }
    }
  }
  return problems;
}

function moduleSpecifiers(sf: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    } else if (ts.isCallExpression(node) && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require'))
        found.push(node.arguments[0].text);
    } else if (ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name)) {
      found.push(node.name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}
