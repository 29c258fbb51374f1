import sqlite from 'node-sqlite3-wasm';
import { statSync } from 'node:fs';
import type { LegacyBlockRow, LegacyLinkRow } from './clean.js';

/**
 * Read-only access to a legacy SQLite store. Rows are streamed with a statement iterator (one row
 * in memory at a time), so memory stays flat whatever the table sizes.
 */

const REQUIRED: Record<string, string[]> = {
  ideation_sessions: ['id', 'created_at'],
  memory_blocks: [
    'id',
    'session_id',
    'idea_id',
    'type',
    'title',
    'content',
    'properties',
    'status',
    'confidence',
    'abstraction_level',
    'extracted_from_message_id',
    'created_at',
    'updated_at',
  ],
  memory_links: ['id', 'source_block_id', 'target_block_id', 'link_type', 'degree', 'confidence', 'reason', 'status', 'created_at'],
};

export class LegacySchemaError extends Error {
  override name = 'LegacySchemaError';
}

export interface LegacySource {
  file: string;
  sizeBytes: number;
  modifiedAt: string;
  counts: { sessions: number; blocks: number; links: number };
  blocks(): IterableIterator<LegacyBlockRow>;
  links(): IterableIterator<LegacyLinkRow>;
  /** The rows of the given legacy block ids (for the spot check). */
  blocksByLegacyId(ids: string[]): LegacyBlockRow[];
  close(): void;
}

const BLOCKS_SQL = `SELECT b.id, b.session_id, b.idea_id, b.type, b.title, b.content, b.properties, b.status, b.confidence,
    b.abstraction_level, b.extracted_from_message_id, b.created_at, b.updated_at,
    s.created_at AS session_created_at, (s.id IS NOT NULL) AS session_known
  FROM memory_blocks b LEFT JOIN ideation_sessions s ON s.id = b.session_id`;

export function openLegacySource(file: string): LegacySource {
  const stat = statSync(file);
  const db = new sqlite.Database(file, { readOnly: true, fileMustExist: true });
  try {
    for (const [table, columns] of Object.entries(REQUIRED)) {
      const have = new Set(db.all(`PRAGMA table_info(${table})`).map((c) => String(c['name'])));
      if (have.size === 0) throw new LegacySchemaError(`table ${table} is missing`);
      const missing = columns.filter((c) => !have.has(c));
      if (missing.length) throw new LegacySchemaError(`table ${table} lacks columns ${missing.join(', ')}`);
    }
  } catch (err) {
    db.close();
    throw err;
  }
  const count = (table: string) => Number(db.get(`SELECT count(*) AS n FROM ${table}`)?.['n'] ?? 0);
  const open: sqlite.Statement[] = [];
  const iterate = <T>(sql: string): IterableIterator<T> => {
    const stmt = db.prepare(sql);
    open.push(stmt);
    return stmt.iterate() as IterableIterator<T>;
  };
  return {
    file,
    sizeBytes: stat.size,
    modifiedAt: stat.mtime.toISOString(),
    counts: { sessions: count('ideation_sessions'), blocks: count('memory_blocks'), links: count('memory_links') },
    blocks: () => iterate<LegacyBlockRow>(BLOCKS_SQL),
    // Endpoint existence is checked here, by SQLite on its primary key index, not in JS memory.
    links: () =>
      iterate<LegacyLinkRow>(`SELECT l.id, l.session_id, l.source_block_id, l.target_block_id, l.link_type, l.degree, l.confidence,
          l.reason, l.status, l.created_at,
          EXISTS (SELECT 1 FROM memory_blocks b WHERE b.id = l.source_block_id) AS source_exists,
          EXISTS (SELECT 1 FROM memory_blocks b WHERE b.id = l.target_block_id) AS target_exists
        FROM memory_links l`),
    blocksByLegacyId: (ids) =>
      ids.length ? (db.all(`${BLOCKS_SQL} WHERE b.id IN (${ids.map(() => '?').join(', ')})`, ids) as unknown as LegacyBlockRow[]) : [],
    close: () => {
      for (const s of open) if (!s.isFinalized) s.finalize();
      db.close();
    },
  };
}
