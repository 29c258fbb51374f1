/** The `.meta()` of a procedure: every one is on the REST surface (/api) and in /openapi.json, behind a bearer token. */
export const openapiMeta =
  (tag: string) =>
  (method: 'GET' | 'POST', path: `/${string}`, summary: string) => ({ openapi: { method, path, protect: true, tags: [tag], summary } });
