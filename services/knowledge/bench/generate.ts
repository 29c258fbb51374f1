import sqlite from 'node-sqlite3-wasm';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Writes a legacy-shaped SQLite store (same tables and columns as the sample) of `blocks` blocks
 * and about 1.5 links per block, with the sample's mix of types and timestamp formats and a small
 * share of awkward rows. Every session id starts with `prefix` so the bench can delete by it.
 * Two kinds of text: `small-vocabulary` draws 30–80 words from a 5,000-word list (which flatters
 * Neo4j's full-text index: few distinct terms); `text-heavy` follows a measured `TextProfile`
 * (see text-profile.ts): fresh random words, so the vocabulary grows with the store as in the
 * sample, and content lengths drawn from the sample's own, including its 100 KB+ contents.
 */
const LEGACY_TYPES = [
  'content',
  'synthesis',
  'pattern',
  'insight',
  'fact',
  'decision',
  'option',
  'assumption',
  'action',
  'task',
  'external',
  'evidence',
  'proposal',
  'question',
  'risk',
  'requirement',
  'constraint',
  'mood',
];
const LINK_TYPES = [
  'supports',
  'contradicts',
  'depends_on',
  'derived_from',
  'addresses',
  'requires',
  'replaces',
  'validates',
  'relates_to',
  'part_of',
  'blocks',
  'Supports',
];
const STATUSES = ['active', 'draft', 'validated', 'superseded', 'archived', null];

/** Deterministic PRNG so two generated stores of the same size are identical. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const VOCABULARY = Array.from({ length: 5_000 }, (_, i) => {
  const r = prng(i + 1);
  const len = 3 + Math.floor(r() * 7);
  return Array.from({ length: len }, () => String.fromCharCode(97 + Math.floor(r() * 26))).join('');
});

/** What `text-heavy` content looks like: measured from the sample (text-profile.ts). */
export interface TextProfile {
  /** Content lengths in characters, one per sample block; generated contents draw from these. */
  contentLengths: number[];
  /** Links per block in the sample. */
  linksPerBlock: number;
}

export interface GeneratedStore {
  file: string;
  dir: string;
  blocks: number;
  links: number;
  /** A uniform sample of block ids (for get-by-id). */
  sampleIds: string[];
  /** Characters of content in all, and how many contents are over 100,000 characters. */
  contentChars: number;
  longContents: number;
}

export function generateLegacyStore(opts: {
  blocks: number;
  prefix: string;
  seed?: number;
  sampleSize?: number;
  text?: TextProfile;
}): GeneratedStore {
  const rand = prng(opts.seed ?? 7);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const profile = opts.text;
  // Text-heavy words are made up on the spot (2–9 random letters, as in the sample): almost every
  // word is new, so the full-text index's term dictionary grows with the store.
  const freshWord = () => {
    const len = 2 + Math.floor(rand() * 8);
    let w = '';
    for (let i = 0; i < len; i++) w += String.fromCharCode(97 + Math.floor(rand() * 26));
    return w;
  };
  const words = (n: number) => Array.from({ length: n }, () => (profile ? freshWord() : pick(VOCABULARY))).join(' ');
  /** Words up to exactly `chars` characters. */
  const textOf = (chars: number) => {
    const parts: string[] = [];
    let len = -1;
    while (len < chars) {
      const w = freshWord();
      parts.push(w);
      len += w.length + 1;
    }
    return parts.join(' ').slice(0, chars);
  };
  let contentChars = 0;
  let longContents = 0;
  const content = () => {
    const c = profile ? textOf(pick(profile.contentLengths)) : words(30 + Math.floor(rand() * 50));
    contentChars += c.length;
    if (c.length > 100_000) longContents++;
    return c;
  };
  const dir = mkdtempSync(join(tmpdir(), 'legacy-bench-'));
  const file = join(dir, 'generated.sqlite');
  const db = new sqlite.Database(file);
  db.exec(`CREATE TABLE ideation_sessions (id TEXT PRIMARY KEY, idea_id TEXT, title TEXT, status TEXT, created_at TEXT);
    CREATE TABLE memory_blocks (id TEXT PRIMARY KEY, session_id TEXT, idea_id TEXT, type TEXT NOT NULL, title TEXT, content TEXT NOT NULL,
      properties TEXT, status TEXT DEFAULT 'active', confidence REAL, abstraction_level TEXT, extracted_from_message_id TEXT, created_at, updated_at);
    CREATE TABLE memory_links (id TEXT PRIMARY KEY, session_id TEXT, source_block_id TEXT NOT NULL, target_block_id TEXT NOT NULL,
      link_type TEXT NOT NULL, degree TEXT, confidence REAL, reason TEXT, status TEXT DEFAULT 'active', created_at, updated_at);`);
  const sessions = Array.from({ length: Math.max(1, Math.round(opts.blocks / 1_000)) }, (_, i) => `${opts.prefix}-s${i}`);
  const ids: string[] = [];
  const sampleIds: string[] = [];
  const sampleSize = opts.sampleSize ?? 1_000;
  const stamp = (ms: number) => {
    const r = rand();
    if (r < 0.5) return new Date(ms).toISOString();
    if (r < 0.8) return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
    if (r < 0.97) return ms;
    return null;
  };
  db.exec('BEGIN');
  try {
    const s = db.prepare('INSERT INTO ideation_sessions VALUES (?, ?, ?, ?, ?)');
    for (const id of sessions) s.run([id, `idea-${Math.floor(rand() * 40)}`, words(3), 'active', new Date(1.7e12).toISOString()]);
    s.finalize();
    const b = db.prepare('INSERT INTO memory_blocks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (let i = 0; i < opts.blocks; i++) {
      const id = randomUUID();
      ids.push(id);
      if (sampleIds.length < sampleSize) sampleIds.push(id);
      else if (rand() < sampleSize / (i + 1)) sampleIds[Math.floor(rand() * sampleSize)] = id;
      const created = 1.7e12 + Math.floor(rand() * 3e10);
      b.run([
        id,
        rand() < 0.04 ? null : pick(sessions),
        rand() < 0.1 ? null : `idea-${Math.floor(rand() * 40)}`,
        pick(LEGACY_TYPES),
        rand() < 0.05 ? null : words(3 + Math.floor(rand() * 6)),
        content(),
        rand() < 0.01 ? '{"tags": ["x"' : JSON.stringify({ tags: [pick(VOCABULARY)], source: 'bench' }),
        pick(STATUSES),
        rand() < 0.1 ? null : Math.round((rand() * 1.3 - 0.1) * 1000) / 1000,
        pick(['vision', 'strategy', 'tactic', 'implementation', null]),
        null,
        stamp(created),
        stamp(created + Math.floor(rand() * 1e9)),
      ]);
    }
    b.finalize();
    const l = db.prepare('INSERT INTO memory_links VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const links = Math.round(opts.blocks * (profile?.linksPerBlock ?? 1.5));
    for (let i = 0; i < links; i++) {
      const src = pick(ids);
      const r = rand();
      const tgt = r < 0.005 ? src : r < 0.01 ? randomUUID() : pick(ids);
      l.run([
        randomUUID(),
        pick(sessions),
        src,
        tgt,
        pick(LINK_TYPES),
        pick(['full', 'partial', 'minimal', null]),
        rand() < 0.5 ? null : Math.round(rand() * 100) / 100,
        rand() < 0.5 ? null : words(4),
        'active',
        stamp(1.7e12 + Math.floor(rand() * 3e10)),
        null,
      ]);
    }
    l.finalize();
    db.exec('COMMIT');
    return { file, dir, blocks: opts.blocks, links, sampleIds, contentChars, longContents };
  } finally {
    db.close();
  }
}
