import sqlite from 'node-sqlite3-wasm';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FIXTURE = '/work/shared/fixtures/legacy-ideas.sqlite';

/**
 * A copy of a legacy store whose ids live in a namespace of their own, so tests and the bench can
 * import "the fixture" into the shared Neo4j without meeting another run's blocks. GUID-shaped ids
 * get their first 8 hex digits replaced by `prefix` (version and variant digits are untouched, so
 * a valid UUID stays valid); other ids get `-prefix` appended. Every session id is GUID-shaped, so
 * every imported block's sessionId starts with `prefix` (give the importer a default session that
 * does too), which is what cleanup deletes by. Everything else, awkward cases included, is as in
 * the source.
 */
export function namespacedCopy(source = FIXTURE): { file: string; prefix: string; defaultSessionId: string; remove(): void } {
  const prefix = randomBytes(4).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'legacy-'));
  const file = join(dir, 'legacy.sqlite');
  copyFileSync(source, file);
  const db = new sqlite.Database(file);
  const ns = (col: string) =>
    `CASE WHEN ${col} GLOB '????????-????-????-????-????????????' THEN :p || substr(${col}, 9) ELSE ${col} || '-' || :p END`;
  try {
    db.exec('BEGIN');
    db.run(`UPDATE ideation_sessions SET id = ${ns('id')}`, { ':p': prefix });
    db.run(`UPDATE memory_blocks SET id = ${ns('id')}, session_id = ${ns('session_id')}`, { ':p': prefix });
    db.run(
      `UPDATE memory_links SET id = ${ns('id')}, session_id = ${ns('session_id')}, source_block_id = ${ns('source_block_id')}, target_block_id = ${ns('target_block_id')}`,
      { ':p': prefix },
    );
    db.exec('COMMIT');
  } finally {
    db.close();
  }
  return { file, prefix, defaultSessionId: `${prefix}-default-session`, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
