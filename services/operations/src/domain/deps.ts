import type { Clock, IdGenerator } from '@platform/kit';
import type { Db } from '../store/prisma.js';
import type { SqlPool } from '../store/sql.js';

/** What every domain function may use: the database, a clock and an id generator (fakes in tests). */
export interface CoreDeps {
  db: Db;
  /** node-postgres pool for the hot paths: event store statements, saga steps (see store/sql.ts). */
  sql: SqlPool;
  clock: Clock;
  newId: IdGenerator;
}
