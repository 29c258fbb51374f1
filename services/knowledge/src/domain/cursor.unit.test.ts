import type { DomainError } from '@platform/kit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './cursor.js';

describe('list cursors', () => {
  it('round-trips any position', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }), fc.uuid(), (d, id) => {
        const p = { createdAt: d.toISOString(), id };
        expect(decodeCursor(encodeCursor(p))).toEqual(p);
      }),
    );
  });

  it.each([
    ['not base64url', 'a+b/c='],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['the wrong shape', Buffer.from(JSON.stringify({ v: 1, c: 'yesterday', i: 'x' })).toString('base64url')],
    ['a future version', Buffer.from(JSON.stringify({ v: 2, c: '2026-01-01T00:00:00Z', i: 'x' })).toString('base64url')],
  ])('refuses %s with BAD_REQUEST', (_what, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', message: 'invalid cursor' }) as DomainError);
  });
});
