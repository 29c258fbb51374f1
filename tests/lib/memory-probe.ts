import { renameSync, writeFileSync } from 'node:fs';

/**
 * Loaded with `--import` into a service process by drills that report memory per replica: samples
 * process.memoryUsage() every MEMORY_PROBE_MS (250) and keeps the latest and the peak readings in
 * MEMORY_PROBE_FILE as JSON, so the test reads a replica's heap too (not only the RSS /proc shows),
 * and the last file written survives a SIGKILL. Does nothing without MEMORY_PROBE_FILE.
 */
export interface MemoryReading {
  pid: number;
  samples: number;
  rss: number;
  heapUsed: number;
  peakRss: number;
  peakHeapUsed: number;
  peakHeapTotal: number;
}

const file = process.env['MEMORY_PROBE_FILE'];
if (file) {
  const reading: MemoryReading = { pid: process.pid, samples: 0, rss: 0, heapUsed: 0, peakRss: 0, peakHeapUsed: 0, peakHeapTotal: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    reading.samples++;
    reading.rss = m.rss;
    reading.heapUsed = m.heapUsed;
    reading.peakRss = Math.max(reading.peakRss, m.rss);
    reading.peakHeapUsed = Math.max(reading.peakHeapUsed, m.heapUsed);
    reading.peakHeapTotal = Math.max(reading.peakHeapTotal, m.heapTotal);
    // Whole or not at all: a reader never sees a half-written file.
    writeFileSync(`${file}.tmp`, JSON.stringify(reading));
    renameSync(`${file}.tmp`, file);
  };
  sample();
  setInterval(sample, Number(process.env['MEMORY_PROBE_MS'] ?? 250)).unref();
}
