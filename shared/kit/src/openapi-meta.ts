/**
 * The `.meta()` of a procedure in every service: each one is on the REST surface (/api) and in
 * /openapi.json under its router's tag, behind a bearer token unless `protect: false` says otherwise
 * (only the enrolment exchange, which is how an agent gets its first token).
 *
 *   const meta = openApiMeta('tasks');
 *   t.procedure.meta(meta('POST', '/tasks/create', 'Create a task'))
 */
export const openApiMeta =
  (tag: string) =>
  (method: 'GET' | 'POST', path: `/${string}`, summary: string, opts: { protect?: boolean } = {}) => ({
    openapi: { method, path, protect: opts.protect ?? true, tags: [tag], summary },
  });
