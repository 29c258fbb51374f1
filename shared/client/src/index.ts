export {
  createPlatformClient,
  createKnowledgeClient,
  createOperationsClient,
  createCoordinationClient,
  DEFAULT_TIMEOUT_MS,
} from './client.js';
export type { PlatformClient, PlatformClientOptions } from './client.js';
export { DEFAULT_RETRY, HttpStatusError, transientFailure, type RetryOptions, type RetryPolicy } from './retry.js';
export type { CoordinationRouter, KnowledgeRouter, OperationsRouter, PlatformRouters, ServiceName } from './routers.js';
export {
  EVENT_STREAMS,
  EVENT_SUBJECTS,
  isEventSubject,
  parseEnvelope,
  streamSubjects,
  subjectsOf,
  type ParsedEnvelope,
  type ParseEnvelopeOptions,
} from './events.js';
export type { EventData, EventDataMap, EventEnvelope, EventSubject, TypedEnvelope } from './event-types.js';
// Callers check failures with `instanceof TRPCClientError` and read `error.data.code`.
export { TRPCClientError } from '@trpc/client';
