import { IsoDateTime } from '@platform/contracts';
import { badRequest } from '@platform/kit';
import { z } from 'zod';

/** Keyset position in (createdAt, id) order. Opaque to callers: base64url of a small JSON. */
export interface ListPosition {
  createdAt: string;
  id: string;
}

const CursorShape = z.strictObject({ v: z.literal(1), c: IsoDateTime, i: z.string().min(1).max(200) });

export function encodeCursor(p: ListPosition): string {
  return Buffer.from(JSON.stringify({ v: 1, c: p.createdAt, i: p.id })).toString('base64url');
}

/** A cursor this service did not produce (or a corrupted one) is the caller's mistake: BAD_REQUEST. */
export function decodeCursor(cursor: string): ListPosition {
  let raw: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('invalid cursor', { cursor });
  }
  const parsed = CursorShape.safeParse(raw);
  if (!parsed.success) throw badRequest('invalid cursor', { cursor });
  return { createdAt: parsed.data.c, id: parsed.data.i };
}
