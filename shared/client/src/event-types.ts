// The event envelope and payload types. In the repository they come from @platform/contracts; the
// build replaces this module's declaration (dist/event-types.d.ts) with plain structural types
// printed from the same schemas (build/event-types.ts).
import type { EventData, EventEnvelope, EventSubject, TypedEnvelope } from '@platform/contracts';

export type { EventData, EventEnvelope, EventSubject, TypedEnvelope };
export type EventDataMap = { [S in EventSubject]: EventData<S> };
