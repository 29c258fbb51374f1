import { EVENT_STREAMS, type EventSubject, parseEnvelope, type TypedEnvelope } from '@platform/contracts';

import type { NatsConnection } from '@platform/kit';

/** Every envelope in COORDINATION_EVENTS on `subjects` (read with an ephemeral ordered consumer). */
export async function readEvents<S extends EventSubject>(nc: NatsConnection, subjects: readonly S[]): Promise<Array<TypedEnvelope<S>>> {
  const js = nc.jetstream();
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(EVENT_STREAMS.coordination);
  const out: Array<TypedEnvelope<S>> = [];
  if (info.state.messages === 0) return out;
  const consumer = await js.consumers.get(EVENT_STREAMS.coordination, { filterSubjects: [...subjects] });
  const pending = (await consumer.info()).num_pending;
  if (pending === 0) return out;
  const messages = await consumer.fetch({ max_messages: pending, expires: 2_000 });
  for await (const m of messages) {
    const parsed = parseEnvelope(m.json(), subjects);
    if (!parsed.ok) throw new Error(`invalid event on ${m.subject}: ${parsed.reason}`);
    out.push(parsed.envelope);
    if (m.info.pending === 0) break;
  }
  return out;
}

/** Polls until `check` returns a value (not undefined), failing after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

/** Polls COORDINATION_EVENTS until `select` picks exactly `count` envelopes (outbox sends are asynchronous). */
export async function waitForEvents<S extends EventSubject>(
  nc: NatsConnection,
  subjects: readonly S[],
  select: (e: TypedEnvelope<S>) => boolean,
  count: number,
  timeoutMs = 10_000,
): Promise<Array<TypedEnvelope<S>>> {
  let last: Array<TypedEnvelope<S>> = [];
  try {
    return await waitFor(
      `${count} events on ${subjects.join(', ')}`,
      async () => {
        last = (await readEvents(nc, subjects)).filter(select);
        return last.length === count ? last : undefined;
      },
      timeoutMs,
      100,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; saw ${last.length}`);
  }
}
