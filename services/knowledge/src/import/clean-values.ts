import { DEFAULT_CONFIDENCE } from './clean-types.js';

/** Reading SQLite's loosely typed values: text, blank, confidence. */

/** SQLite's dynamic typing: a "TEXT" column may hold a number or a blob. */
export function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  return String(v);
}

export const nonBlank = (v: unknown): string | null => {
  const s = text(v);
  return s !== null && s.trim() !== '' ? s : null;
};

export function confidenceOf<F extends string>(v: unknown, flags: F[], names: { defaulted: F; clamped: F; invalid: F }): number {
  if (v === null || v === undefined || (typeof v === 'string' && v.trim() === '')) {
    flags.push(names.defaulted);
    return DEFAULT_CONFIDENCE;
  }
  const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : Number(text(v));
  if (!Number.isFinite(n)) {
    flags.push(names.invalid);
    return DEFAULT_CONFIDENCE;
  }
  if (n < 0 || n > 1) {
    flags.push(names.clamped);
    return Math.min(1, Math.max(0, n));
  }
  return n;
}
