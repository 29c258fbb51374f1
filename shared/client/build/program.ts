import path from 'node:path';
import ts from 'typescript';

/** The monorepo root (this file is shared/client/build/program.ts). */
export const repoRoot = path.resolve(import.meta.dirname, '../../..');

/**
 * One TypeScript program over the services' router modules and the contracts' events, compiled
 * from source (the `@platform/source` condition, as `npm run typecheck` does), so the published
 * types are generated from exactly what the services serve, with no service build needed first.
 */
export function loadProgram(rootFiles: readonly string[]): ts.Program {
  const configPath = path.join(repoRoot, 'tsconfig.base.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error(`cannot read ${configPath}`);
  const program = ts.createProgram(
    rootFiles.map((f) => path.join(repoRoot, f)),
    { ...parsed.options, noEmit: false, declaration: true, emitDeclarationOnly: true, sourceMap: false, declarationMap: false },
  );
  const errors = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) {
    const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => repoRoot, getNewLine: () => '\n' };
    throw new Error(`the sources do not type-check:\n${ts.formatDiagnostics(errors.slice(0, 10), host)}`);
  }
  return program;
}

export function sourceFile(program: ts.Program, file: string): ts.SourceFile {
  const sf = program.getSourceFile(path.join(repoRoot, file));
  if (!sf) throw new Error(`${file} is not in the program`);
  return sf;
}

/**
 * Prints nodes the way a .d.ts reads. `from` is the file the nodes were parsed from: the printer
 * takes literal text (string literal types) from it.
 */
export function printNode(node: ts.Node, from: ts.SourceFile): string {
  return ts.createPrinter({ newLine: ts.NewLineKind.LineFeed }).printNode(ts.EmitHint.Unspecified, node, from);
}
