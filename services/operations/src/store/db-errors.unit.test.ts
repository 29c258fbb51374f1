import { DomainError } from '@platform/kit';
import { describe, expect, it } from 'vitest';
import { toDomainError } from './db-errors.js';

const prismaError = (cause: Record<string, unknown>) =>
  Object.assign(new Error('prisma'), { code: 'P2010', meta: { driverAdapterError: { cause } } });

describe('database errors → domain errors', () => {
  it('maps unique violations to CONFLICT, FK violations to BAD_REQUEST, RLS refusals to FORBIDDEN', () => {
    const unique = toDomainError(
      prismaError({ originalCode: '23505', kind: 'UniqueConstraintViolation', constraint: { index: 'teams_name_key' } }),
    );
    expect(unique).toBeInstanceOf(DomainError);
    expect(unique).toMatchObject({ code: 'CONFLICT', details: { constraint: 'teams_name_key' } });
    expect(toDomainError(prismaError({ originalCode: '23503' }))).toMatchObject({ code: 'BAD_REQUEST' });
    expect(
      toDomainError(prismaError({ originalCode: '42501', originalMessage: 'new row violates row-level security policy' })),
    ).toMatchObject({ code: 'FORBIDDEN' });
    expect(
      toDomainError(prismaError({ originalCode: '23514', originalMessage: 'task x cannot move under its own descendant y' })),
    ).toMatchObject({ code: 'BAD_REQUEST', message: 'task x cannot move under its own descendant y' });
  });

  it('leaves other errors alone (they end as INTERNAL_SERVER_ERROR without SQL details)', () => {
    const boom = new Error('connection reset');
    expect(toDomainError(boom)).toBe(boom);
    const pgOther = prismaError({ originalCode: '22012' });
    expect(toDomainError(pgOther)).toBe(pgOther);
  });
});
