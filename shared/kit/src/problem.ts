import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import type { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { z } from 'zod';

/**
 * Errors as RFC 9457 problem details, for callers that are not our TypeScript clients. Every
 * error kind (one per tRPC code) has a stable `type` URI under this base; docs/errors.md lists
 * them. The URIs identify the kind: clients compare them as strings and need not fetch them.
 */
export const PROBLEM_TYPE_BASE = 'https://agent-platform.dev/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** A short, fixed summary per kind (RFC 9457 `title`: the same for every occurrence). */
const TITLES: Record<TRPC_ERROR_CODE_KEY, string> = {
  PARSE_ERROR: 'Malformed Request Body',
  BAD_REQUEST: 'Bad Request',
  UNAUTHORIZED: 'Unauthorized',
  PAYMENT_REQUIRED: 'Payment Required',
  FORBIDDEN: 'Forbidden',
  NOT_FOUND: 'Not Found',
  METHOD_NOT_SUPPORTED: 'Method Not Allowed',
  TIMEOUT: 'Request Timeout',
  CONFLICT: 'Conflict',
  PRECONDITION_FAILED: 'Precondition Failed',
  PAYLOAD_TOO_LARGE: 'Content Too Large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported Media Type',
  UNPROCESSABLE_CONTENT: 'Unprocessable Content',
  PRECONDITION_REQUIRED: 'Precondition Required',
  TOO_MANY_REQUESTS: 'Too Many Requests',
  CLIENT_CLOSED_REQUEST: 'Client Closed Request',
  INTERNAL_SERVER_ERROR: 'Internal Server Error',
  NOT_IMPLEMENTED: 'Not Implemented',
  BAD_GATEWAY: 'Bad Gateway',
  SERVICE_UNAVAILABLE: 'Service Unavailable',
  GATEWAY_TIMEOUT: 'Gateway Timeout',
};

/** `NOT_FOUND` → `https://agent-platform.dev/problems/not-found`. */
export const problemType = (code: TRPC_ERROR_CODE_KEY): string => `${PROBLEM_TYPE_BASE}${code.toLowerCase().replaceAll('_', '-')}`;
export const problemTitle = (code: TRPC_ERROR_CODE_KEY): string => TITLES[code];

/** One zod issue as a non-TypeScript caller needs it: where (path into the input), what, which check. */
export interface ProblemIssue {
  path: Array<string | number>;
  message: string;
  code: string;
}

/** The RFC 9457 members plus `code` (the tRPC code, for callers that switch on it) and `issues`. */
export interface ProblemMembers {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: TRPC_ERROR_CODE_KEY;
  /** The input's zod issues for a validation error; null otherwise. */
  issues: ProblemIssue[] | null;
}

const toIssue = (issue: z.core.$ZodIssue): ProblemIssue => ({
  path: issue.path.map((p) => (typeof p === 'number' ? p : String(p))),
  message: issue.message,
  code: issue.code,
});

/** The problem members for a tRPC error; `instance` names the request (its path). */
export function problemMembers(error: TRPCError, instance: string): ProblemMembers {
  const issues = error.cause instanceof z.ZodError ? error.cause.issues.map(toIssue) : null;
  // A validation error's message is zod's JSON dump of the issues; say it in one readable line.
  const detail = issues
    ? `Input validation failed: ${issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`
    : error.message;
  return {
    type: problemType(error.code),
    title: problemTitle(error.code),
    status: getHTTPStatusCodeFromError(error),
    detail,
    instance,
    code: error.code,
    issues,
  };
}

const RESERVED = new Set(['type', 'title', 'status', 'detail', 'instance', 'code', 'issues', 'message']);

/**
 * The body of an /api error: the problem members, `message` (= detail, which REST callers read
 * before this), and a domain error's details as extension members (never over a standard member).
 */
export function restProblemBody(problem: ProblemMembers, details: Record<string, unknown> | null): Record<string, unknown> {
  const extensions = Object.fromEntries(Object.entries(details ?? {}).filter(([k]) => !RESERVED.has(k)));
  const { issues, ...rest } = problem;
  return { ...extensions, ...rest, message: problem.detail, ...(issues ? { issues } : {}) };
}

/**
 * Which surface and path the current request came in on. The HTTP server sets it around each
 * request; the tRPC error formatter reads it, because the REST adapter (trpc-to-openapi) builds
 * its error body from the formatter's shape and tells the formatter nothing about the request.
 */
export const requestScope = new AsyncLocalStorage<{ surface: 'trpc' | 'rest'; path: string }>();

/** Answers a plain-HTTP problem (limits, readiness, unknown routes) with the same `type` URIs. */
export function sendProblem(
  res: ServerResponse,
  code: TRPC_ERROR_CODE_KEY,
  status: number,
  fields: { detail?: string; instance?: string } & Record<string, unknown> = {},
): void {
  res.writeHead(status, { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' });
  res.end(JSON.stringify({ type: problemType(code), title: problemTitle(code), status, code, ...fields }));
}

/** JSON Schema of an error body, for the OpenAPI document (additional members are extensions). */
export const problemJsonSchema = {
  type: 'object',
  description: `RFC 9457 problem details. \`type\` is ${PROBLEM_TYPE_BASE}<kind> (see docs/errors.md); further members carry a domain error's details.`,
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string', format: 'uri', description: 'Stable URI of the error kind, one per `code`' },
    title: { type: 'string', description: 'Short summary of the error kind' },
    status: { type: 'integer', description: 'The HTTP status code' },
    detail: { type: 'string', description: 'What went wrong in this request' },
    instance: { type: 'string', description: 'The request path' },
    code: {
      type: 'string',
      description:
        'tRPC error code, e.g. BAD_REQUEST, PARSE_ERROR, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, TOO_MANY_REQUESTS, SERVICE_UNAVAILABLE',
    },
    message: { type: 'string', description: 'The error message (kept for callers of the earlier error shape)' },
    issues: {
      type: 'array',
      description: 'Validation errors only: one per invalid input field',
      items: {
        type: 'object',
        required: ['path', 'message', 'code'],
        properties: {
          path: { type: 'array', items: { type: ['string', 'integer'] } },
          message: { type: 'string' },
          code: { type: 'string' },
        },
      },
    },
  },
} as const;
