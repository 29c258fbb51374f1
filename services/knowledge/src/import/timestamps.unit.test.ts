import { describe, expect, it } from 'vitest';
import { parseLegacyTimestamp } from './timestamps.js';

describe('parseLegacyTimestamp', () => {
  it.each([
    ['2025-03-28T03:36:55.000Z', '2025-03-28T03:36:55.000Z', 'iso'],
    ['2025-03-28T05:36:55+02:00', '2025-03-28T03:36:55.000Z', 'iso'],
    ['2024-04-17 02:57:36', '2024-04-17T02:57:36.000Z', 'sql'],
    ['2024-04-17 02:57', '2024-04-17T02:57:00.000Z', 'sql'],
    [1740019543000, '2025-02-20T02:45:43.000Z', 'epoch_ms'],
    ['1715072884000', '2024-05-07T09:08:04.000Z', 'epoch_ms'],
    [1715072884, '2024-05-07T09:08:04.000Z', 'epoch_s'],
    [BigInt(1740019543000), '2025-02-20T02:45:43.000Z', 'epoch_ms'],
  ])('reads %s as %s (%s)', (input, iso, format) => {
    expect(parseLegacyTimestamp(input)).toEqual({ iso, format });
  });

  it.each([[null], [undefined], [''], ['   ']])('calls %j missing', (input) => {
    expect(parseLegacyTimestamp(input)).toEqual({ iso: null, format: 'missing' });
  });

  it.each([['yesterday'], ['2024-02-30 10:00:00'], ['2024-13-01T00:00:00Z'], [Number.NaN], [{}]])('calls %j invalid', (input) => {
    expect(parseLegacyTimestamp(input)).toEqual({ iso: null, format: 'invalid' });
  });
});
