// Input of build/event-types.ts: names for the contracts' event types, which the generator prints
// structurally into dist/event-types.d.ts. Never shipped.
import type { EventData, EventEnvelope, EventSubject } from '@platform/contracts';

export type Envelope = EventEnvelope;
export type DataMap = { [S in EventSubject]: EventData<S> };
