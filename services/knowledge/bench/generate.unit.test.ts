import sqlite from 'node-sqlite3-wasm';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { generateLegacyStore, VOCABULARY, type GeneratedStore } from './generate.js';

/** The bench's stores must have the text they claim: the ratios in the report depend on it. */

const stores: GeneratedStore[] = [];
afterAll(() => {
  for (const s of stores) rmSync(s.dir, { recursive: true, force: true });
});

function contents(file: string): string[] {
  const db = new sqlite.Database(file, { readOnly: true });
  try {
    return db.all('SELECT content FROM memory_blocks').map((r) => String(r['content']));
  } finally {
    db.close();
  }
}

describe('generated legacy stores', () => {
  it('text-heavy: content lengths drawn from the profile, long contents in its share, a vocabulary that keeps growing', () => {
    // 1 % long contents, 2 % empty, the rest short: a profile of 100 lengths.
    const profile = { contentLengths: [...Array<number>(97).fill(300), 0, 0, 120_000], linksPerBlock: 1.6 };
    const store = generateLegacyStore({ blocks: 3_000, prefix: 'unittext', text: profile });
    stores.push(store);
    const texts = contents(store.file);
    expect(new Set(texts.map((t) => t.length))).toEqual(new Set([300, 0, 120_000]));
    const long = texts.filter((t) => t.length > 100_000).length;
    expect(long).toBe(store.longContents);
    expect(long).toBeGreaterThan(12);
    expect(long).toBeLessThan(50);
    expect(store.contentChars).toBe(texts.reduce((a, t) => a + t.length, 0));
    expect(store.links).toBe(4_800);
    const words = texts.filter((t) => t.length === 300).flatMap((t) => t.split(' ').slice(0, -1));
    // Fresh random words: far more distinct words than the small vocabulary has.
    expect(new Set(words).size).toBeGreaterThan(VOCABULARY.length * 10);
  });

  it('small vocabulary: every content word comes from the 5,000-word list', () => {
    const store = generateLegacyStore({ blocks: 500, prefix: 'unitsmall' });
    stores.push(store);
    const vocabulary = new Set(VOCABULARY);
    const words = contents(store.file).flatMap((t) => t.split(' '));
    expect(words.length).toBeGreaterThan(500 * 30 - 1);
    expect(words.every((w) => vocabulary.has(w))).toBe(true);
    expect(store.longContents).toBe(0);
    expect(store.links).toBe(750);
  });
});
