import type { Clock, IdGenerator } from '@platform/kit';
import type { Db } from '../store/prisma.js';

/** What every domain function may use: the database, a clock and an id generator (fakes in tests). */
export interface CoreDeps {
  db: Db;
  clock: Clock;
  newId: IdGenerator;
}
