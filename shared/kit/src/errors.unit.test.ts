import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DomainError, isUnavailable, toTrpcError } from './errors.js';

describe('toTrpcError', () => {
  it('maps domain errors to their codes and zod errors to BAD_REQUEST', () => {
    expect(toTrpcError(new DomainError('CONFLICT', 'stale')).code).toBe('CONFLICT');
    expect(toTrpcError(z.string().safeParse(1).error).code).toBe('BAD_REQUEST');
  });

  it('answers SERVICE_UNAVAILABLE when a dependency is unreachable, anywhere in the cause chain', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(isUnavailable(new Error('query failed', { cause: new Error('driver', { cause: refused }) }))).toBe(true);
    expect(toTrpcError(new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: refused })).code).toBe('SERVICE_UNAVAILABLE');
    expect(toTrpcError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })).code).toBe(
      'SERVICE_UNAVAILABLE',
    );
  });

  it('keeps other failures as INTERNAL_SERVER_ERROR', () => {
    expect(isUnavailable(new Error('division by zero'))).toBe(false);
    expect(toTrpcError(new Error('bug')).code).toBe('INTERNAL_SERVER_ERROR');
  });
});
