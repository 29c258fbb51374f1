import { PrincipalId, PrincipalKind, Uuid } from '@platform/contracts';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { graphSettings, loadCliConfig } from '../config.js';
import { IMPORT_DEFAULTS, importLegacy } from '../import/importer.js';
import { progressFor, silentProgress } from '../import/progress.js';
import { writeReport } from '../import/report.js';
import { LegacySchemaError } from '../import/sqlite-source.js';
import { connectGraph } from '../store/neo4j.js';
import { bootstrapSchema } from '../store/schema.js';

const USAGE = `usage: import:legacy -- <file.sqlite> --owner <principal-id> [--owner-kind user|service|agent] [--team <team-id>]
       [--report <path>] [--batch-size N] [--spot-check N] [--default-session ID] [--seed N] [--quiet]

Moves a legacy SQLite store (ideation_sessions, memory_blocks, memory_links) into the knowledge
graph, then validates it. Legacy stores have no owners: every imported block and link becomes
--owner's (a user unless --owner-kind says otherwise), shared with --team when given; only they, their team, services
and platform admins will see them. Exit codes: 0 imported and reconciled, 1 reconciliation failed,
2 bad usage or unreadable source.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    report: { type: 'string' },
    owner: { type: 'string' },
    'owner-kind': { type: 'string', default: 'user' },
    team: { type: 'string' },
    'batch-size': { type: 'string' },
    'spot-check': { type: 'string' },
    'default-session': { type: 'string' },
    seed: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

const int = (name: string, v: string | undefined, fallback: number, min: number) => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer ≥ ${min}\n\n${USAGE}`);
    process.exit(2);
  }
  return n;
};

if (values.help || positionals.length !== 1) {
  console.error(USAGE);
  process.exit(values.help ? 0 : 2);
}

/** Exits 2 with the usage when a value does not pass its schema. */
function parsed<T>(what: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }, v: unknown): T {
  const r = schema.safeParse(v);
  if (!r.success) {
    console.error(`${what}\n\n${USAGE}`);
    process.exit(2);
  }
  return r.data;
}

if (values.owner === undefined) {
  console.error(`--owner <principal-id> is required: imported blocks must belong to someone\n\n${USAGE}`);
  process.exit(2);
}
const owner = {
  id: parsed('--owner must be a principal id (1 to 200 characters)', PrincipalId, values.owner),
  kind: parsed('--owner-kind must be user, service or agent', PrincipalKind, values['owner-kind']),
  teamId: values.team === undefined ? null : parsed('--team must be a team id (a UUID)', Uuid, values.team),
};

const config = loadCliConfig();
// Paths are relative to where the command was typed (npm run -w changes the working directory).
const base = config.INIT_CWD ?? process.cwd();
const file = resolve(base, positionals[0]!);
const reportPath = resolve(base, values.report ?? `legacy-import-report-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const graph = await connectGraph(graphSettings(config));
try {
  await bootstrapSchema(graph, { embeddingDimensions: config.EMBEDDING_DIMENSIONS });
  const seed = values.seed === undefined ? undefined : int('seed', values.seed, 0, 0);
  const report = await importLegacy(graph, {
    file,
    owner,
    batchSize: int('batch-size', values['batch-size'], IMPORT_DEFAULTS.batchSize, 1),
    spotCheck: int('spot-check', values['spot-check'], IMPORT_DEFAULTS.spotCheck, 0),
    defaultSessionId: values['default-session'] ?? IMPORT_DEFAULTS.defaultSessionId,
    ...(seed !== undefined ? { seed } : {}),
    progress: values.quiet ? silentProgress : progressFor(process.stderr),
  });
  writeReport(reportPath, report);
  const b = report.blocks;
  const l = report.links;
  console.log(report.summary);
  console.log(`owner:  ${owner.kind} ${owner.id}${owner.teamId ? `, team ${owner.teamId}` : ''}`);
  console.log(
    `blocks: read ${b.read}, accepted ${b.accepted}, rejected ${b.rejected}, created ${b.created}, already present ${b.alreadyPresent} (${report.timing.blocksPerSecond}/s)`,
  );
  console.log(
    `links:  read ${l.read}, accepted ${l.accepted}, rejected ${l.rejected} ${JSON.stringify(l.rejectsByReason)}, created ${l.created}, duplicates collapsed ${l.duplicatesCollapsed}, already present ${l.alreadyPresent} (${report.timing.linksPerSecond}/s)`,
  );
  console.log(
    `flags:  ${
      Object.entries(b.flags)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') || 'none'
    }`,
  );
  console.log(`spot check: ${report.spotCheck.matched}/${report.spotCheck.sampled} blocks match the source field by field`);
  console.log(
    report.reconciliation.ok ? 'reconciliation: OK' : `reconciliation FAILED:\n  - ${report.reconciliation.problems.join('\n  - ')}`,
  );
  console.log(`report: ${reportPath}`);
  process.exitCode = report.reconciliation.ok ? 0 : 1;
} catch (err) {
  if (err instanceof LegacySchemaError || (err instanceof Error && 'code' in err && err.code === 'ENOENT')) {
    console.error(`cannot read ${file}: ${err.message}`);
    process.exitCode = 2;
  } else {
    throw err;
  }
} finally {
  await graph.driver.close();
}
