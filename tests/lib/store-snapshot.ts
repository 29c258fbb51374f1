import { connectNats, createLogger } from '@platform/kit';
import neo4j from 'neo4j-driver';
import pg from 'pg';
import { storeEnv } from '@platform/testkit';

/**
 * Counts of everything a refused call could have written: rows per Postgres table, Neo4j nodes and
 * relationships, messages per JetStream stream. Equal snapshots before and after = no partial write.
 */
export async function storeSnapshot(): Promise<Record<string, number>> {
  const env = storeEnv();
  const out: Record<string, number> = {};

  // As the owner with the break-glass setting, so FORCEd row-level security counts every row.
  const db = new pg.Client({ connectionString: env['DATABASE_ADMIN_URL'] ?? env['DATABASE_URL'], options: '-c app.owner_bypass=on' });
  await db.connect();
  try {
    const tables = await db.query<{ t: string }>(
      `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations' ORDER BY 1`,
    );
    for (const { t } of tables.rows) {
      const r = await db.query<{ n: string }>(`SELECT count(*) AS n FROM "${t.replace(/"/g, '""')}"`);
      out[`pg.${t}`] = Number(r.rows[0]!.n);
    }
  } finally {
    await db.end();
  }

  const driver = neo4j.driver(env['NEO4J_URI']!, neo4j.auth.basic(env['NEO4J_USER']!, env['NEO4J_PASSWORD']!), {
    disableLosslessIntegers: true,
  });
  try {
    const nodes = await driver.executeQuery('MATCH (n) RETURN count(n) AS n');
    const rels = await driver.executeQuery('MATCH ()-[r]->() RETURN count(r) AS n');
    out['neo4j.nodes'] = nodes.records[0]!.get('n') as number;
    out['neo4j.relationships'] = rels.records[0]!.get('n') as number;
  } finally {
    await driver.close();
  }

  const nc = await connectNats({
    url: env['NATS_URL']!,
    user: env['NATS_USER'],
    password: env['NATS_PASSWORD'],
    name: 'snapshot',
    log: createLogger('snapshot', 'silent'),
  });
  try {
    const jsm = await nc.jetstreamManager();
    for await (const s of jsm.streams.list()) {
      if (s.config.name.startsWith('KV_')) continue; // KV buckets hold liveness and state that change on their own
      out[`nats.${s.config.name}`] = s.state.messages + s.state.num_deleted;
    }
  } finally {
    await nc.close();
  }
  return out;
}
