import { pullNext, type JetStreamClient, type JsMsg } from '@platform/kit';
import type { Settlement, WorkQueues } from '../domain/deps.js';
import { JOBS_STREAM } from '@platform/contracts';

/**
 * The job queues' edge: pulls work items from the JOBS stream's durables and replies to
 * JetStream as the domain decided (claim.ts says what, this says how).
 */
export function jetStreamWorkQueues(js: JetStreamClient): WorkQueues {
  return {
    async pull(durable) {
      const msg = await pullNext(js, JOBS_STREAM, durable);
      if (!msg) return null;
      return { subject: msg.subject, body: safeJson(msg), pending: msg.info.pending, settle: (s) => settle(msg, s) };
    },
  };
}

function settle(msg: JsMsg, s: Settlement): void {
  switch (s.kind) {
    case 'done':
      return msg.ack();
    case 'later':
      return msg.nak(s.ms); // JetStream gives the item back when it is due
    case 'redeliver':
      return msg.nak();
    case 'drop':
      return msg.term();
  }
}

function safeJson(msg: JsMsg): unknown {
  try {
    return msg.json();
  } catch {
    return null;
  }
}
