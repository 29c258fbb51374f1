import { useEffect, useRef, useState } from 'preact/hooks';
import { errorCode, errorMessage } from './api.js';
import { poll, type Poller } from './live.js';

export interface Live<T> {
  data: T | null;
  error: string | null;
  /** When the last successful read came back. */
  updatedAt: Date | null;
  /** How the view learns of changes: pushed events (and a slow poll as a safety net), or polling alone. */
  mode: 'push' | 'poll';
}

/** Starts a subscription whose events mean "something changed"; returns how to end it. */
export type Subscribe = (handlers: { onChange: () => void; onConnected: () => void; onLost: () => void }) => () => void;

/** While events are pushed, the poll only guards against a missed one. */
const SAFETY_NET_MS = 10_000;

/**
 * A read kept current while `deps` stay the same: polled every `intervalMs`, or, with `subscribe`,
 * read again whenever the service pushes a change (tRPC subscription over server-sent events), with
 * polling taking over whenever the push channel is down. A refused token signs the user out
 * (onUnauthorized); any other failure keeps the last data and shows the error.
 */
export function useLive<T>(
  read: () => Promise<T>,
  opts: { intervalMs: number; subscribe?: Subscribe | undefined; pushedIntervalMs?: number; deps: unknown[]; onUnauthorized: () => void },
): Live<T> {
  const [state, setState] = useState<Omit<Live<T>, 'mode'>>({ data: null, error: null, updatedAt: null });
  const [mode, setMode] = useState<'push' | 'poll'>('poll');
  const readRef = useRef(read);
  readRef.current = read;
  const unauthorized = useRef(opts.onUnauthorized);
  unauthorized.current = opts.onUnauthorized;
  useEffect(() => {
    let current = true;
    const poller: Poller = poll(async () => {
      try {
        const data = await readRef.current();
        if (current) setState({ data, error: null, updatedAt: new Date() });
      } catch (err) {
        if (!current) return;
        if (errorCode(err) === 'UNAUTHORIZED') return unauthorized.current();
        setState((s) => ({ ...s, error: errorMessage(err) }));
      }
    }, opts.intervalMs);
    const unsubscribe = opts.subscribe?.({
      onChange: () => poller.poke(),
      onConnected: () => {
        if (!current) return;
        poller.setInterval(opts.pushedIntervalMs ?? SAFETY_NET_MS);
        setMode('push');
        // anything that changed while it was connecting
        poller.poke();
      },
      onLost: () => {
        if (!current) return;
        poller.setInterval(opts.intervalMs);
        setMode('poll');
      },
    });
    return () => {
      current = false;
      unsubscribe?.();
      poller.stop();
    };
  }, [...opts.deps, opts.intervalMs]);
  return { ...state, mode };
}
