// Smoke check of the local infrastructure through the same client libraries the services
// use. Reads the variables printed by `bash scripts/infra.sh env`:
//
//   eval "$(bash scripts/infra.sh env)" && node scripts/infra/smoke.mjs [postgres|nats|neo4j ...]
//
// Leaves nothing behind (temporary table, stream and indexes are dropped again).
import pg from 'pg';
import { connect, StringCodec } from 'nats';
import neo4j from 'neo4j-driver';

const checks = {
  async postgres() {
    for (const [name, url] of [
      ['DATABASE_URL', process.env.DATABASE_URL],
      ['DATABASE_ADMIN_URL', process.env.DATABASE_ADMIN_URL],
    ]) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query(
        'SELECT current_user AS u, r.rolsuper AS su, r.rolbypassrls AS bypass FROM pg_roles r WHERE r.rolname = current_user',
      );
      await client.end();
      console.log(`postgres: ${name} ok as ${rows[0].u} (superuser=${rows[0].su}, bypassrls=${rows[0].bypass})`);
    }
  },
  async nats() {
    // The nats client ignores credentials inside the URL: pass user/pass explicitly.
    const nc = await connect({
      servers: process.env.NATS_URL,
      user: process.env.NATS_USER || undefined,
      pass: process.env.NATS_PASSWORD || undefined,
      timeout: 5000,
    });
    const jsm = await nc.jetstreamManager();
    const stream = `INFRA_SMOKE_${process.pid}`;
    await jsm.streams.add({ name: stream, subjects: [`infra.smoke.${process.pid}`] });
    const ack = await nc.jetstream().publish(`infra.smoke.${process.pid}`, StringCodec().encode('ping'));
    await jsm.streams.delete(stream);
    console.log(`nats: ok server ${nc.info?.version}, JetStream publish seq=${ack.seq}`);
    await nc.close();
  },
  async neo4j() {
    const driver = neo4j.driver(process.env.NEO4J_URI, neo4j.auth.basic(process.env.NEO4J_USER, process.env.NEO4J_PASSWORD));
    const session = driver.session();
    const suffix = process.pid;
    try {
      const one = (await session.run('RETURN 1 AS one')).records[0].get('one').toNumber();
      await session.run(`CREATE FULLTEXT INDEX smoke_ft_${suffix} IF NOT EXISTS FOR (n:InfraSmoke) ON EACH [n.text]`);
      await session.run(
        `CREATE VECTOR INDEX smoke_vec_${suffix} IF NOT EXISTS FOR (n:InfraSmoke) ON (n.embedding)
         OPTIONS {indexConfig: {\`vector.dimensions\`: 3, \`vector.similarity_function\`: 'cosine'}}`,
      );
      await session.run('CALL db.awaitIndexes(60)');
      const { records } = await session.run(
        `SHOW INDEXES YIELD name, type, state WHERE name IN ['smoke_ft_${suffix}', 'smoke_vec_${suffix}'] RETURN type, state ORDER BY type`,
      );
      await session.run(`DROP INDEX smoke_ft_${suffix} IF EXISTS`);
      await session.run(`DROP INDEX smoke_vec_${suffix} IF EXISTS`);
      const indexes = records.map((r) => `${r.get('type')}=${r.get('state')}`).join(' ');
      const { records: comp } = await session.run('CALL dbms.components() YIELD versions, edition RETURN versions[0] AS v, edition');
      console.log(`neo4j: ok RETURN ${one}, ${indexes}, ${comp[0].get('v')} ${comp[0].get('edition')}`);
    } finally {
      await session.close();
      await driver.close();
    }
  },
};

const wanted = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(checks);
let failed = 0;
for (const name of wanted) {
  if (!checks[name]) {
    console.error(`unknown component ${name}`);
    process.exit(2);
  }
  try {
    await checks[name]();
  } catch (err) {
    failed++;
    console.error(`${name}: FAILED ${err?.code ?? ''} ${err?.message ?? err}`);
  }
}
process.exit(failed ? 1 : 0);
