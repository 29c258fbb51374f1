import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { forbiddenImports } from '../build/check-dist.js';

// The build's last step: what it must refuse to ship, and what it must let through.
let dir: string;
const dist = (files: Record<string, string>) => {
  dir = mkdtempSync(path.join(tmpdir(), 'client-dist-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
};
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('forbiddenImports', () => {
  it('lets through tRPC, zod in the runtime, and siblings that exist', () => {
    expect(
      forbiddenImports(
        dist({
          'index.d.ts': `import type { TRPCClient } from '@trpc/client';\nexport type { X } from './routers.js';\nexport type R = import("@trpc/server").AnyRouter;`,
          'routers.d.ts': `export type X = 1; // import("neo4j-driver") in a comment does not count`,
          'index.js': `import { z } from "zod";\nimport { createTRPCClient } from "@trpc/client";\nconst s = "require('pg')";`,
        }),
      ),
    ).toEqual([]);
  });

  it('finds server packages and workspace packages in every import form', () => {
    expect(
      forbiddenImports(
        dist({
          'a.d.ts': `import type { Driver } from 'neo4j-driver';\nexport type C = import("@platform/kit").RequestContext;\nexport * from 'pg';`,
          'b.d.ts': `declare module '@prisma/client' {}\nexport type Z = import('zod').ZodType;`,
          'index.js': `import "node:crypto";\nconst n = await import("nats");\nconst p = require("pino");\nimport "@trpc/server";`,
        }),
      ).sort(),
    ).toEqual([
      'a.d.ts: imports @platform/kit',
      'a.d.ts: imports neo4j-driver',
      'a.d.ts: imports pg',
      'b.d.ts: imports @prisma/client',
      'b.d.ts: imports zod',
      'index.js: imports @trpc/server',
      'index.js: imports nats',
      'index.js: imports node:crypto',
      'index.js: imports pino',
    ]);
  });

  it('finds a sibling that is not in dist', () => {
    expect(forbiddenImports(dist({ 'index.d.ts': `export * from './missing.js';` }))).toEqual([
      'index.d.ts: imports ./missing.js, which is not in dist',
    ]);
  });
});
