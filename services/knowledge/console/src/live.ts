// Keeping a view current. `poll` runs a read now and then every `intervalMs` (after the previous one
// finished, so a slow service never gets overlapping calls), pausing while the tab is hidden.

export interface Stop {
  (): void;
}

export function poll(read: () => Promise<void>, intervalMs: number): Stop {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async () => {
    timer = undefined;
    if (stopped) return;
    if (document.visibilityState !== 'hidden') {
      try {
        await read();
      } catch {
        // the read shows its own error; keep trying
      }
    }
    if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
  };
  // A tab coming back to view refreshes at once rather than at the next tick.
  const onVisible = () => {
    if (document.visibilityState === 'visible' && timer !== undefined) {
      clearTimeout(timer);
      void tick();
    }
  };
  document.addEventListener('visibilitychange', onVisible);
  void tick();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisible);
  };
}
