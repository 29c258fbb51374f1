import type { Principal } from '@platform/contracts';
import { currentTraceId } from '@platform/kit';
import {
  appendToStream,
  readAll,
  readStream,
  type AppendResult,
  type ExpectedVersion,
  type NewEvent,
  type ReadAllResult,
  type StoredEvent,
} from '../store/event-store.js';
import { requireServiceOrAdmin } from './access.js';
import type { CoreDeps } from './deps.js';

/**
 * The event store over the API: for services and platform admins (streams are not per-user data).
 * Every appended event records who appended it in its metadata.
 */
export function appendEvents(
  deps: CoreDeps,
  principal: Principal,
  input: { aggregateId: string; aggregateType: string; expectedVersion: ExpectedVersion; events: NewEvent[] },
): Promise<AppendResult> {
  requireServiceOrAdmin(principal);
  const events = input.events.map((e) => ({ ...e, metadata: { ...e.metadata, appendedBy: principal.id } }));
  return appendToStream(deps.sql, input.aggregateId, input.aggregateType, events, input.expectedVersion, {
    correlationId: currentTraceId(),
    now: deps.clock(),
  });
}

export function readEventStream(
  deps: CoreDeps,
  principal: Principal,
  input: { aggregateId: string; fromVersion: number; limit: number },
): Promise<StoredEvent[]> {
  requireServiceOrAdmin(principal);
  return readStream(deps.sql, input.aggregateId, input.fromVersion, input.limit);
}

export function readAllEvents(
  deps: CoreDeps,
  principal: Principal,
  input: { fromPosition: number; limit: number },
): Promise<ReadAllResult> {
  requireServiceOrAdmin(principal);
  return readAll(deps.sql, input.fromPosition, input.limit);
}
