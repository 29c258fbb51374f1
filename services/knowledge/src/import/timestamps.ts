/** How a legacy timestamp was written; the report counts each format. */
export type TimestampFormat = 'iso' | 'sql' | 'epoch_ms' | 'epoch_s' | 'missing' | 'invalid';

const SQL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?$/;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;
const DIGITS = /^-?\d+(\.\d+)?$/;
// Epoch values are taken as milliseconds when they are large enough to be after 1973 in ms.
const MS_THRESHOLD = 1e11;

function fromEpoch(n: number): { iso: string | null; format: TimestampFormat } {
  const ms = Math.abs(n) >= MS_THRESHOLD ? n : n * 1000;
  const d = new Date(ms);
  return Number.isNaN(d.getTime())
    ? { iso: null, format: 'invalid' }
    : { iso: d.toISOString(), format: Math.abs(n) >= MS_THRESHOLD ? 'epoch_ms' : 'epoch_s' };
}

/**
 * Reads the timestamp shapes legacy stores hold: ISO 8601 with a zone, `YYYY-MM-DD HH:MM:SS`
 * (taken as UTC, the legacy writer's zone), epoch milliseconds or seconds as numbers or digit
 * strings. Returns an ISO string (UTC, ms) or null with the reason.
 */
export function parseLegacyTimestamp(v: unknown): { iso: string | null; format: TimestampFormat } {
  if (v === null || v === undefined) return { iso: null, format: 'missing' };
  if (typeof v === 'bigint') return fromEpoch(Number(v));
  if (typeof v === 'number') return Number.isFinite(v) ? fromEpoch(v) : { iso: null, format: 'invalid' };
  if (typeof v !== 'string') return { iso: null, format: 'invalid' };
  const s = v.trim();
  if (s === '') return { iso: null, format: 'missing' };
  if (DIGITS.test(s)) return fromEpoch(Number(s));
  const sql = SQL_DATETIME.exec(s);
  if (sql) {
    const [, y, mo, d, h, mi, sec, frac] = sql;
    const ms = Date.UTC(
      Number(y),
      Number(mo) - 1,
      Number(d),
      Number(h),
      Number(mi),
      Number(sec ?? 0),
      Math.round(Number(frac ?? 0) * 1000),
    );
    const date = new Date(ms);
    // Date.UTC silently rolls over (Feb 30 → Mar 2): such a value is invalid, not a date.
    if (date.getUTCDate() !== Number(d) || date.getUTCMonth() !== Number(mo) - 1) return { iso: null, format: 'invalid' };
    return { iso: date.toISOString(), format: 'sql' };
  }
  if (ISO_WITH_ZONE.test(s)) {
    const t = Date.parse(s);
    return Number.isNaN(t) ? { iso: null, format: 'invalid' } : { iso: new Date(t).toISOString(), format: 'iso' };
  }
  return { iso: null, format: 'invalid' };
}
