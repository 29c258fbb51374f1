/**
 * How an outbox relay learns that a write committed, without any caller remembering to tell it.
 *
 * The store rings the signal once a transaction that wrote outbox rows has committed (knowledge:
 * its write-transaction helper; operations: a Postgres trigger's NOTIFY, heard by a LISTEN
 * connection); the relay listens and runs a pass at once. Routers and domain code never touch it.
 * The relay's own poll stays as a safety net for a signal that was lost (a LISTEN connection that
 * was down, a process that died between commit and ring).
 */
export interface OutboxSignal {
  /** A transaction that wrote outbox rows committed: wake every listener. */
  written(): void;
  /** Calls `wake` on every ring until the returned function is called. */
  listen(wake: () => void): () => void;
}

export function outboxSignal(): OutboxSignal {
  const listeners = new Set<() => void>();
  return {
    written() {
      for (const wake of [...listeners]) wake();
    },
    listen(wake) {
      // A wrapper per call, so the same function listening twice is removed once per unlisten.
      const entry = () => wake();
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
  };
}
