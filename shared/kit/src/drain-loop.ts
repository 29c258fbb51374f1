import type { Logger } from './logger.js';
import type { OutboxSignal } from './outbox-signal.js';

export interface DrainLoop {
  /** Ask for a pass now (after a commit) instead of waiting for the next tick. */
  poke(): void;
  /** No new pass starts; resolves when the running one has ended. */
  stop(): Promise<void>;
}

/**
 * Runs `drain` every `intervalMs` and whenever poked, never two passes at once. `drain` answers true
 * when there may be more right away (it took a full batch); a poke that arrives during a pass runs
 * another one after it, so a commit made while a pass was reading is never left for the next tick.
 * A failed pass is logged and the next tick tries again. With `signal`, every ring is a poke (the
 * store rings it when a write committed, see OutboxSignal): the timer is then only a safety net.
 * Used by the outbox relays and operations' team-directory publisher.
 */
export function startDrainLoop(opts: {
  name: string;
  intervalMs: number;
  log: Logger;
  drain: () => Promise<boolean>;
  signal?: OutboxSignal;
}): DrainLoop {
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const pass = async () => {
    do {
      again = false;
      if (await opts.drain()) again = true;
    } while (again && !stopped);
  };
  const tick = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = pass()
      .catch((err: unknown) =>
        opts.log.warn({ err: err instanceof Error ? err.message : String(err) }, `${opts.name} pass failed; will retry`),
      )
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, opts.intervalMs);
  const unlisten = opts.signal?.listen(tick);
  tick();
  return {
    poke: tick,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      unlisten?.();
      await running;
    },
  };
}
