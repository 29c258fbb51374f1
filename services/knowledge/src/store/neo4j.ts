import { DomainError, withSpan } from '@platform/kit';
import neo4j, { Neo4jError, type Driver, type ManagedTransaction } from 'neo4j-driver';

export interface Neo4jSettings {
  uri: string;
  user: string;
  password: string;
  database: string;
}

/** The graph handle the store functions receive: one driver per process, one database. */
export interface Graph {
  driver: Driver;
  database: string;
}

export async function connectGraph(s: Neo4jSettings): Promise<Graph> {
  const driver = neo4j.driver(s.uri, neo4j.auth.basic(s.user, s.password), {
    // Integers come back as JS numbers: our counts and versions stay far below 2^53.
    disableLosslessIntegers: true,
    connectionAcquisitionTimeout: 5_000,
    connectionTimeout: 3_000,
    maxTransactionRetryTime: 10_000,
  });
  await driver.verifyConnectivity({ database: s.database });
  return { driver, database: s.database };
}

/** The driver already retried transient errors; if Neo4j is still unreachable the caller gets a typed 503. */
function unavailable(err: unknown): unknown {
  if (err instanceof Neo4jError && (err.code === 'ServiceUnavailable' || err.code === 'SessionExpired')) {
    return new DomainError('SERVICE_UNAVAILABLE', 'neo4j is unavailable; retry later');
  }
  return err;
}

/** A managed write transaction (retried by the driver on transient errors) inside a span. */
export function writeTx<T>(g: Graph, name: string, work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
  return withSpan(`neo4j write ${name}`, { attributes: { 'db.system.name': 'neo4j', 'db.operation.name': name } }, async () => {
    const session = g.driver.session({ database: g.database, defaultAccessMode: neo4j.session.WRITE });
    try {
      return await session.executeWrite(work);
    } catch (err) {
      throw unavailable(err);
    } finally {
      await session.close();
    }
  });
}

/** A managed read transaction inside a span. */
export function readTx<T>(g: Graph, name: string, work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
  return withSpan(`neo4j read ${name}`, { attributes: { 'db.system.name': 'neo4j', 'db.operation.name': name } }, async () => {
    const session = g.driver.session({ database: g.database, defaultAccessMode: neo4j.session.READ });
    try {
      return await session.executeRead(work);
    } catch (err) {
      throw unavailable(err);
    } finally {
      await session.close();
    }
  });
}
