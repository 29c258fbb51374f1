import cliProgress from 'cli-progress';

/** Where the importer reports progress: a bar on a terminal, plain lines otherwise, or nothing. */
export interface ProgressSink {
  start(phase: string, total: number): void;
  advance(n: number): void;
  stop(): void;
}

export const silentProgress: ProgressSink = { start: () => undefined, advance: () => undefined, stop: () => undefined };

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{phase} [{bar}] {percentage}% | {value}/{total} | {rate}/s | eta {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let startedAt = 0;
  let value = 0;
  return {
    start(phase, total) {
      startedAt = performance.now();
      value = 0;
      bar.start(total, 0, { phase: phase.padEnd(14), rate: 0 });
    },
    advance(n) {
      value += n;
      bar.update(value, { rate: Math.round(value / Math.max(0.001, (performance.now() - startedAt) / 1000)) });
    },
    stop: () => bar.stop(),
  };
}

/** One line per ~10% or every `everyMs` (logs and CI have no cursor to move). */
export function lineProgress(write: (line: string) => void = (l) => process.stderr.write(`${l}\n`), everyMs = 5_000): ProgressSink {
  let phase = '';
  let total = 0;
  let value = 0;
  let startedAt = 0;
  let lastAt = 0;
  let lastPct = -1;
  const line = () => {
    const secs = (performance.now() - startedAt) / 1000;
    write(
      `${phase}: ${value}/${total} (${total ? Math.floor((value / total) * 100) : 100}%) ${Math.round(value / Math.max(secs, 0.001))}/s`,
    );
  };
  return {
    start(p, t) {
      [phase, total, value, startedAt, lastAt, lastPct] = [p, t, 0, performance.now(), performance.now(), -1];
      write(`${phase}: starting, ${total} rows`);
    },
    advance(n) {
      value += n;
      const pct = total ? Math.floor((value / total) * 10) : 10;
      if (pct !== lastPct || performance.now() - lastAt > everyMs) {
        lastPct = pct;
        lastAt = performance.now();
        line();
      }
    },
    stop: line,
  };
}

export const progressFor = (stream: NodeJS.WriteStream = process.stderr): ProgressSink =>
  stream.isTTY ? terminalProgress(stream) : lineProgress();
