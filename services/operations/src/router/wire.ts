import { z } from 'zod';

/**
 * Shapes shared by the routers. Dates go over the wire as ISO strings (no transformer: plain JSON for
 * non-TypeScript callers and the OpenAPI surface).
 */
export const iso = (d: Date) => d.toISOString();
export const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);

export const Id = z.uuid();
export const Limit = z.coerce.number().int().min(1).max(200).default(50);
export const Cursor = z.string().min(1).max(500).optional();
export const DateTime = z.iso.datetime({ offset: true });
/** JSON object stored as JSONB (metadata, context, …). */
export const JsonObject = z.record(z.string(), z.unknown());

export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const toPage = <R, W>(page: { items: R[]; nextCursor: string | null }, map: (r: R) => W) => ({
  items: page.items.map(map),
  nextCursor: page.nextCursor,
});
