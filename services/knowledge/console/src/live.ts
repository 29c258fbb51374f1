// Keeping a view current. `poll` runs a read now and then every `intervalMs` (after the previous one
// finished, so a slow service never gets overlapping calls), pausing while the tab is hidden.
// `poke()` reads again at once (a pushed event said something changed); pokes during a read make
// one more read after it, never a pile of them. The interval can change while it runs: slow while
// events are pushed, fast when the push channel is down.

export interface Poller {
  stop(): void;
  poke(): void;
  setInterval(ms: number): void;
}

export function poll(read: () => Promise<void>, intervalMs: number): Poller {
  let stopped = false;
  let running = false;
  let again = false;
  let interval = intervalMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = stopped ? undefined : setTimeout(() => void tick(), interval);
  };
  const tick = async () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    if (document.visibilityState !== 'hidden') {
      running = true;
      try {
        await read();
      } catch {
        // the read shows its own error; keep trying
      } finally {
        running = false;
      }
    }
    if (again) {
      again = false;
      return void tick();
    }
    schedule();
  };
  // A tab coming back to view refreshes at once rather than at the next tick.
  const onVisible = () => {
    if (document.visibilityState === 'visible') void tick();
  };
  document.addEventListener('visibilitychange', onVisible);
  void tick();
  return {
    stop: () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    },
    poke: () => void tick(),
    setInterval: (ms: number) => {
      if (ms === interval) return;
      interval = ms;
      if (!running) schedule();
    },
  };
}
