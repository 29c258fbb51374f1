/** The OpenAPI metadata every procedure carries (the same zod schemas describe the REST surface). */
export const openApiMeta =
  (tag: string) =>
  (method: 'GET' | 'POST', path: `/${string}`, summary: string) => ({ openapi: { method, path, protect: true, tags: [tag], summary } });
