// The event envelope and payload types. In the repository they come from @platform/contracts; the
// build replaces this module's declaration (dist/event-types.d.ts) with plain structural types
// printed from the same schemas (build/event-types.ts), which must keep the shapes below.
import type { EventData, EventEnvelope, EventSubject } from '@platform/contracts';

export type { EventData, EventEnvelope, EventSubject };
export type EventDataMap = { [S in EventSubject]: EventData<S> };
/**
 * An envelope whose subject and payload were checked (parseEnvelope). Distributes over a union of
 * subjects, so testing `envelope.subject` narrows `envelope.data` to that subject's payload.
 */
export type TypedEnvelope<S extends EventSubject> = S extends EventSubject
  ? Omit<EventEnvelope, 'subject' | 'data'> & { subject: S; data: EventDataMap[S] }
  : never;
