import { badRequest } from '@platform/kit';

/**
 * Keyset pagination over (created_at, id), newest first: stable under concurrent inserts, no OFFSET.
 * The cursor is opaque to callers (base64url of the last row's key).
 */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

interface Key {
  createdAt: Date;
  id: string;
}

export function encodeCursor(k: Key): string {
  return Buffer.from(JSON.stringify([k.createdAt.toISOString(), k.id])).toString('base64url');
}

export function decodeCursor(cursor: string): Key {
  try {
    const [c, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(c);
    if (Number.isNaN(createdAt.getTime()) || typeof id !== 'string') throw new Error('bad');
    return { createdAt, id };
  } catch {
    throw badRequest('invalid cursor');
  }
}

/** Prisma `where` fragment for "after this cursor" in (createdAt desc, id desc) order. */
export function afterCursor(cursor: string | undefined, direction: 'desc' | 'asc' = 'desc') {
  if (!cursor) return {};
  const k = decodeCursor(cursor);
  const op = direction === 'desc' ? 'lt' : 'gt';
  return { OR: [{ createdAt: { [op]: k.createdAt } }, { createdAt: k.createdAt, id: { [op]: k.id } }] };
}

export const keysetOrder = (direction: 'desc' | 'asc' = 'desc') => [{ createdAt: direction }, { id: direction }] as const;

/** Turns `limit + 1` fetched rows into a page. */
export function toPage<T extends Key>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? encodeCursor(items.at(-1)!) : null };
}
