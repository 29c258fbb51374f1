/**
 * Prisma's own schema engine, compiled to WebAssembly, driven through @prisma/adapter-pg.
 *
 * Why: every `prisma migrate *` / `prisma db *` command of Prisma 7.10 spawns the native `schema-engine`
 * binary, which cannot be downloaded on our machines (see /work/shared/PRISMA-MIGRATIONS.md, Route A).
 * The WASM build below is the exact engine that belongs to prisma 7.10.0, so migration folders, the
 * `_prisma_migrations` table and checksums are the ones a native `prisma migrate deploy` would see.
 *
 * This is unsupported internal API: every version is pinned exactly in the root package.json
 * (prisma, @prisma/internals, @prisma/adapter-pg, @prisma/driver-adapter-utils = 7.10.0,
 * @prisma/schema-engine-wasm = 7.10.0-4.0edf323…); upgrade them together and rerun
 * services/operations/migrate/migrate.int.test.ts.
 *
 * Loading mirrors @prisma/internals/dist/WasmSchemaEngineLoader (chunk-SBUSVJCV.js): instantiate the
 * `schema_engine_bg.wasm` module against `@prisma/schema-engine-wasm/schema_engine_bg`, call
 * `__wbindgen_start`, then `SchemaEngine.new({ datamodels }, logCallback, boundAdapterFactory)` — the
 * factory bound with `bindMigrationAwareSqlAdapterFactory`, as packages/migrate/src/SchemaEngineWasm.ts
 * did. We do not call the internals loader itself: it reads the .wasm from `@prisma/internals/build`,
 * which the npm package does not ship.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  DriverAdapterError,
  type ErrorCapturingSqlMigrationAwareDriverAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { SchemaEngine, SchemaFilter } from '@prisma/schema-engine-wasm';
import pg from 'pg';
import { createScratchDatabase, type ScratchDatabase } from './scratch-db.js';

export type { SchemaEngine } from '@prisma/schema-engine-wasm';

/** No externally managed tables/enums (prisma.config.ts `tables.external` equivalent). */
export const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] };

// ---------------------------------------------------------------------------------------------------
// WASM loading
// ---------------------------------------------------------------------------------------------------

type EngineClass = {
  new: (options: { datamodels: [string, string][] | undefined }, log: (msg: string) => void, adapter: object) => Promise<SchemaEngine>;
};

let engineClass: Promise<EngineClass> | undefined;

/** The global WebAssembly API (our tsconfig has no DOM lib and @types/node 20 does not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

async function loadEngineClass(): Promise<EngineClass> {
  const runtime = await import('@prisma/schema-engine-wasm/schema_engine_bg');
  // The package's exports do not expose the .wasm file; locate it next to its entry point.
  const entry = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm');
  const bytes = await readFile(path.join(path.dirname(entry), 'schema_engine_bg.wasm'));
  const instance = new Wasm.Instance(new Wasm.Module(bytes), { './schema_engine_bg.js': runtime as unknown as Record<string, unknown> });
  runtime.__wbg_set_wasm(instance.exports);
  (instance.exports['__wbindgen_start'] as () => void)();
  return runtime.SchemaEngine as unknown as EngineClass;
}

// ---------------------------------------------------------------------------------------------------
// Adapter quirks
// ---------------------------------------------------------------------------------------------------

/**
 * Quirk 1 (prisma/orm#27403, open): adapter-pg cannot map catalog columns of type `"char"` (oid 18) to
 * a Prisma column type; the engine's describer reads such pg_catalog columns, so every introspection
 * (drift check) fails with "Column type 'char' could not be deserialized from the database" (measured
 * with 7.10.0 by disabling this fix). `name` (oid 19) is mapped by adapter-pg 7.10 but was not in
 * earlier builds; relabelling it is harmless. node-postgres already parses both as strings, so inside
 * the migration process we relabel them as `text` (oid 25) before adapter-pg looks at `fields`.
 * The application's own client is not affected (it never uses this class).
 */
const CATALOG_TEXT_OIDS = new Set([18, 19]);
const TEXT_OID = 25;

function relabelCatalogColumns<T>(result: T): T {
  for (const r of Array.isArray(result) ? result : [result]) {
    const fields = (r as { fields?: { dataTypeID: number }[] } | undefined)?.fields;
    if (!fields) continue;
    for (const f of fields) if (CATALOG_TEXT_OIDS.has(f.dataTypeID)) f.dataTypeID = TEXT_OID;
  }
  return result;
}

class CatalogTextClient extends pg.Client {
  // pg.Client#query has many overloads; pg-pool calls it with a trailing callback, adapter-pg via the pool.
  override query(...args: unknown[]): never {
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = (err: unknown, res: unknown) =>
        (last as (e: unknown, r: unknown) => void)(err, err ? res : relabelCatalogColumns(res));
      return (super.query as (...a: unknown[]) => never)(...args);
    }
    const ret = (super.query as (...a: unknown[]) => unknown)(...args);
    if (ret instanceof Promise) return ret.then(relabelCatalogColumns) as never;
    return ret as never;
  }
}

/** Shape of a node-postgres DatabaseError (what we need to build the adapter's `postgres` error kind). */
interface PgDatabaseError {
  code: string;
  severity: string;
  message: string;
  detail?: string;
  column?: string;
  hint?: string;
  position?: string;
}

function isPgDatabaseError(e: unknown): e is PgDatabaseError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as PgDatabaseError).code === 'string' &&
    typeof (e as PgDatabaseError).severity === 'string'
  );
}

/**
 * Quirk 3: adapter-pg's `executeScript` splits the script on every `;` and runs the pieces one by one.
 * That breaks `$$ … $$` bodies and leaves a failed migration half-applied. We send the whole script as
 * ONE simple-protocol query instead (no parameters → node-postgres uses the simple protocol, which
 * allows several statements): Postgres runs a multi-statement simple query in one implicit transaction,
 * so a failing migration leaves nothing behind. Same behaviour as the native engine's `raw_cmd`.
 * Consequence: `CREATE INDEX CONCURRENTLY` (not allowed in a transaction) must be alone in its migration.
 */
async function executeScriptAtomically(pool: pg.Pool, script: string, failures: ScriptFailure[]): Promise<void> {
  try {
    await pool.query(script);
  } catch (e) {
    if (isPgDatabaseError(e)) {
      // The engine condenses this to e.g. "No such table: x"; keep Postgres' own words for our messages.
      failures.push({ code: e.code, message: e.message, position: e.position ? Number(e.position) : undefined, script });
      const where = e.position ? ` (at character ${e.position})` : '';
      throw new DriverAdapterError({
        kind: 'postgres',
        code: e.code,
        severity: e.severity,
        message: `${e.message}${where}`,
        detail: e.detail,
        column: e.column,
        hint: e.hint,
      });
    }
    throw e;
  }
}

/** A Postgres error raised by a script (migration) the engine ran through `executeScript`. */
export interface ScriptFailure {
  code: string;
  message: string;
  /** 1-based character offset into `script`, when Postgres reports one. */
  position: number | undefined;
  script: string;
}

/** An adapter-pg connection with our quirk fixes, owning its pool. */
async function connectPatched(url: string, failures: ScriptFailure[], onDispose?: () => Promise<void>): Promise<SqlDriverAdapter> {
  const pool = new pg.Pool({ connectionString: url, Client: CatalogTextClient, max: 4 });
  pool.on('error', () => {}); // idle-client errors (e.g. a FORCE drop) must not crash the process
  const inner = await new PrismaPg(pool).connect();
  let disposed = false;
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    queryRaw: (q) => inner.queryRaw(q),
    executeRaw: (q) => inner.executeRaw(q),
    startTransaction: (level) => inner.startTransaction(level),
    getConnectionInfo: () => inner.getConnectionInfo(),
    executeScript: (script) => executeScriptAtomically(pool, script, failures),
    async dispose() {
      if (disposed) return;
      disposed = true;
      await inner.dispose(); // external pool: only detaches adapter-pg's listener
      await pool.end();
      await onDispose?.();
    },
  };
}

/**
 * Quirk 2: never use PrismaPg#connectToShadowDb (it resets the MAIN database, see scratch-db.ts).
 * Our factory creates a fresh scratch database per shadow connection and drops it on dispose.
 * The engine only asks for a shadow database when it must replay a migrations directory (diff from
 * `migrations`, diagnose with `optInToShadowDatabase`), so plain deploy/status need no CREATEDB.
 */
function migrationAdapterFactory(
  url: string,
  adminUrl: string,
  opened: Set<SqlDriverAdapter>,
  scratches: Set<ScratchDatabase>,
  failures: ScriptFailure[],
): SqlMigrationAwareDriverAdapterFactory {
  const track = (a: SqlDriverAdapter) => (opened.add(a), a);
  return {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: async () => track(await connectPatched(url, failures)),
    async connectToShadowDb() {
      const scratch = await createScratchDatabase(adminUrl, 'shadow');
      scratches.add(scratch);
      try {
        return track(await connectPatched(scratch.url, [], () => scratch.drop()));
      } catch (e) {
        await scratch.drop();
        throw e;
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Engine session
// ---------------------------------------------------------------------------------------------------

export interface EngineOptions {
  /** Database the engine works on (migrations table, drift checks). */
  url: string;
  /** Role with CREATEDB used for scratch/shadow databases; defaults to `url`. */
  adminUrl?: string;
  /** `[path, content]` of schema.prisma files; lets the engine know the datasource provider. */
  datamodels?: [string, string][];
  /** Receives the engine's JSON log lines (tracing output). */
  log?: (line: string) => void;
}

/** Error raised by the engine, with the JS error that caused it when the adapter captured one. */
export class SchemaEngineError extends Error {
  override name = 'SchemaEngineError';
  constructor(
    message: string,
    readonly code: string | undefined,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** Engine messages end with a Rust span trace ("   0: schema_engine_wasm::…  at …rs:242"); drop it. */
export function stripSpanTrace(message: string): string {
  const lines = message.split('\n');
  const cut = lines.findIndex((l) => /^\s+\d+: \w+::/.test(l));
  return (cut === -1 ? lines : lines.slice(0, cut)).join('\n').trimEnd();
}

/**
 * Engine errors are plain objects/errors coming out of wasm-bindgen; errors thrown by our adapter are
 * parked in the factory's error registry under an id (kind GenericJs). Turn both into something readable.
 */
function toEngineError(e: unknown, factory: ErrorCapturingSqlMigrationAwareDriverAdapterFactory): Error {
  if (e instanceof SchemaEngineError) return e;
  const obj = (typeof e === 'object' && e !== null ? e : {}) as { message?: unknown; code?: unknown; meta?: unknown; id?: unknown };
  const message = stripSpanTrace(typeof obj.message === 'string' ? obj.message : String(e));
  // The engine renders adapter errors it could not map as "External error id#<n>".
  const idMatch = /External error id#(\d+)|GenericJs\D{0,20}(\d+)/.exec(message);
  const captured = idMatch ? factory.errorRegistry.consumeError(Number(idMatch[1] ?? idMatch[2]))?.error : undefined;
  const code = typeof obj.code === 'string' ? obj.code : undefined;
  const text = captured instanceof Error ? `${message.replace(/\n?External error id#\d+/, '')}: ${captured.message}` : message;
  return new SchemaEngineError(code ? `${code}: ${text}` : text, code, captured ?? e);
}

export interface EngineSession {
  /** Calls `engine[method](input)`, converting engine errors into SchemaEngineError. */
  call<M extends EngineMethod>(method: M, input: Parameters<SchemaEngine[M]>[0]): Promise<Awaited<ReturnType<SchemaEngine[M]>>>;
  /** The last Postgres error raised by a script the engine ran on the main database (a migration). */
  lastScriptFailure(): ScriptFailure | undefined;
}

type EngineMethod = 'applyMigrations' | 'diff' | 'diagnoseMigrationHistory' | 'markMigrationRolledBack' | 'version';

/**
 * Runs `fn` with a fresh engine; always frees it and drops every scratch database created meanwhile,
 * even when `fn` or the engine throws.
 */
export async function withSchemaEngine<T>(opts: EngineOptions, fn: (engine: EngineSession) => Promise<T>): Promise<T> {
  const adminUrl = opts.adminUrl ?? opts.url;
  engineClass ??= loadEngineClass();
  const Engine = await engineClass;
  // Every connection the engine opens; freeing the engine does not necessarily dispose them.
  const opened = new Set<SqlDriverAdapter>();
  // Scratch databases of THIS session, dropped at the end even if the engine never disposed them.
  const scratches = new Set<ScratchDatabase>();
  const scriptFailures: ScriptFailure[] = [];
  const factory = bindMigrationAwareSqlAdapterFactory(migrationAdapterFactory(opts.url, adminUrl, opened, scratches, scriptFailures));
  const log = opts.log ?? (() => {});
  let engine: SchemaEngine | undefined;
  try {
    engine = await Engine.new({ datamodels: opts.datamodels?.length ? opts.datamodels : undefined }, log, factory).catch((e: unknown) => {
      throw toEngineError(e, factory);
    });
    const live = engine;
    return await fn({
      async call(method, input) {
        try {
          // Keep `live[method](…)` as a method call: detaching it loses the wasm `this` (__wbg_ptr).
          return await (live[method] as (i: typeof input) => Promise<never>)(input);
        } catch (e) {
          throw toEngineError(e, factory);
        }
      },
      lastScriptFailure: () => scriptFailures.at(-1),
    });
  } finally {
    engine?.free();
    for (const a of opened) await a.dispose().catch(() => {});
    for (const s of scratches) {
      // drop() is idempotent; report instead of masking the original error.
      await s
        .drop()
        .catch((e: unknown) => process.stderr.write(`warning: could not drop scratch database ${s.name}: ${(e as Error).message}\n`));
    }
  }
}
