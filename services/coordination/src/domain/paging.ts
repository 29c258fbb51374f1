import { badRequest } from '@platform/kit';

/**
 * Keyset paging over an in-memory list (the KV buckets are scanned whole, as jobs.list does): the
 * items are sorted by a key of strings compared element by element in code-unit order, and the
 * cursor is the base64url JSON of the last answered item's key, so a page starts strictly after it
 * (stable under inserts and deletes between pages, no offsets).
 */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

type Key = readonly string[];

const compareKeys = (a: Key, b: Key): number => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
};

const encode = (k: Key) => Buffer.from(JSON.stringify(k)).toString('base64url');

function decode(raw: string): Key {
  try {
    const k = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(k) && k.length >= 1 && k.length <= 4 && k.every((v) => typeof v === 'string')) return k as string[];
  } catch {
    // fall through
  }
  throw badRequest('cursor is not one this service returned');
}

/**
 * Sorts by `keyOf` (ascending, or descending: newest first for time keys) and answers the `limit`
 * items after the cursor, with the cursor of the next page (null: last page).
 */
export function keysetPage<T>(
  items: readonly T[],
  keyOf: (t: T) => Key,
  page: { cursor?: string | undefined; limit: number },
  order: 'asc' | 'desc' = 'asc',
): Page<T> {
  const sign = order === 'asc' ? 1 : -1;
  const keyed = items.map((item) => ({ item, key: keyOf(item) })).sort((a, b) => sign * compareKeys(a.key, b.key));
  const after = page.cursor === undefined ? null : decode(page.cursor);
  const rest = after ? keyed.filter((k) => sign * compareKeys(k.key, after) > 0) : keyed;
  const answered = rest.slice(0, page.limit);
  return { items: answered.map((k) => k.item), nextCursor: rest.length > page.limit ? encode(answered.at(-1)!.key) : null };
}
