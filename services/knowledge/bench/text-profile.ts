import sqlite from 'node-sqlite3-wasm';
import type { TextProfile } from './generate.js';

/** Contents longer than this count as "over 100 KB" in the bench's notes (the measure). */
export const LONG_CONTENT_CHARS = 100_000;

/**
 * Measures the sample legacy store, so the text-heavy generated store follows the sample's own
 * distribution of content lengths (empty contents and contents over 100 KB in the same share)
 * and its links per block, rather than constants copied from it once.
 */
export function measureTextProfile(
  file: string,
): TextProfile & { blocks: number; links: number; contentChars: number; longContents: number } {
  const db = new sqlite.Database(file, { readOnly: true, fileMustExist: true });
  try {
    const contentLengths = db.all('SELECT length(content) AS n FROM memory_blocks').map((r) => Number(r['n'] ?? 0));
    const links = Number(db.get('SELECT count(*) AS n FROM memory_links')?.['n'] ?? 0);
    if (contentLengths.length === 0) throw new Error(`${file} has no blocks to measure`);
    return {
      contentLengths,
      linksPerBlock: links / contentLengths.length,
      blocks: contentLengths.length,
      links,
      contentChars: contentLengths.reduce((a, b) => a + b, 0),
      longContents: contentLengths.filter((n) => n > LONG_CONTENT_CHARS).length,
    };
  } finally {
    db.close();
  }
}
