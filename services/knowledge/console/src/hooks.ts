import { useEffect, useRef, useState } from 'preact/hooks';
import { errorCode, errorMessage } from './api.js';
import { poll } from './live.js';

export interface Live<T> {
  data: T | null;
  error: string | null;
  /** When the last successful read came back. */
  updatedAt: Date | null;
}

/**
 * A read kept current by polling every `intervalMs` while `deps` stay the same. A refused token
 * signs the user out (onUnauthorized); any other failure keeps the last data and shows the error.
 */
export function usePolled<T>(read: () => Promise<T>, intervalMs: number, deps: unknown[], onUnauthorized: () => void): Live<T> & { refresh: () => void } {
  const [state, setState] = useState<Live<T>>({ data: null, error: null, updatedAt: null });
  const readRef = useRef(read);
  readRef.current = read;
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    let current = true;
    const stop = poll(async () => {
      try {
        const data = await readRef.current();
        if (current) setState({ data, error: null, updatedAt: new Date() });
      } catch (err) {
        if (!current) return;
        if (errorCode(err) === 'UNAUTHORIZED') return onUnauthorized();
        setState((s) => ({ ...s, error: errorMessage(err) }));
      }
    }, intervalMs);
    return () => {
      current = false;
      stop();
    };
  }, [...deps, intervalMs, nonce]);
  return { ...state, refresh: () => setNonce((n) => n + 1) };
}
