import cors from 'cors';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { sendProblem } from './problem.js';

/** An origin as a browser sends it: scheme://host[:port], no path, no trailing slash. */
const origin = z.string().refine(
  (value) => {
    try {
      return new URL(value).origin === value;
    } catch {
      return false;
    }
  },
  { message: 'each entry must be an origin: scheme://host[:port], without a path or trailing slash' },
);

/**
 * Which browser origins may call the service (ARCHITECTURE "Security"). Unset or empty allows
 * none: a production deployment names its front ends; `npm start` and the test systems pass the
 * local development servers (localhost:3000, :5173, :8000).
 */
export const corsEnv = z.object({
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((raw) =>
      raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    )
    .pipe(z.array(origin)),
});
export type CorsEnv = z.infer<typeof corsEnv>;

export interface CorsSettings {
  /** Exact origins allowed; empty allows none. */
  origins: string[];
}

export const corsSettings = (env: CorsEnv): CorsSettings => ({ origins: env.CORS_ORIGINS });

/** What a browser may send: the token, JSON bodies and the trace context. */
export const CORS_ALLOWED_HEADERS = ['authorization', 'content-type', 'traceparent'];
export const CORS_ALLOWED_METHODS = ['GET', 'POST', 'OPTIONS'];
/** How long a browser may cache a preflight answer (seconds). */
export const CORS_MAX_AGE_SECONDS = 600;

/**
 * CORS for every route. An allowed origin gets `Access-Control-Allow-Origin: <origin>` (never `*`)
 * on every response, and its preflight is answered 204 with the allowed methods and headers. A
 * request from any other origin gets no CORS headers at all, and its preflight a 403 problem
 * (clearer in a browser's network tab than a 204 the browser would refuse anyway). Returns true
 * when it answered the request (a preflight).
 */
export function createCorsHandler(settings: CorsSettings): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const allowed = new Set(settings.origins);
  // The `cors` package applies the headers; deciding whether an origin is allowed stays here, so a
  // refused origin falls through without any header (the package would still send Allow-Methods).
  const middleware = cors({
    origin: (requestOrigin, cb) => cb(null, requestOrigin !== undefined && allowed.has(requestOrigin)),
    methods: CORS_ALLOWED_METHODS,
    allowedHeaders: CORS_ALLOWED_HEADERS,
    // A browser script may read these on an answer (Retry-After on a 429).
    exposedHeaders: ['retry-after'],
    maxAge: CORS_MAX_AGE_SECONDS,
    optionsSuccessStatus: 204,
  });
  return (req, res) => {
    // No Origin header: not a browser's cross-origin call, and the package would add nothing (its
    // origin callback refuses undefined). Most calls are service to service: skip it.
    if (req.headers.origin === undefined) {
      if (allowed.size > 0) res.setHeader('vary', 'Origin');
      return Promise.resolve(false);
    }
    const isPreflight =
      req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;
    // Answers differ by Origin wherever an origin may be allowed: caches must key on it.
    if (allowed.size > 0) res.setHeader('vary', 'Origin');
    return new Promise<boolean>((resolve, reject) => {
      middleware(req, res, (err?: unknown) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        // Reached only for a request the package did not answer, i.e. not an allowed preflight.
        if (!isPreflight) return resolve(false);
        sendProblem(res, 'FORBIDDEN', 403, {
          detail: `Origin ${req.headers.origin} is not allowed (CORS_ORIGINS)`,
          instance: (req.url ?? '/').split('?')[0],
        });
        resolve(true);
      });
      // The package ends an allowed preflight itself, without calling next.
      if (res.writableEnded) resolve(true);
    });
  };
}
