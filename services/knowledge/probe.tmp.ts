import neo4j from 'neo4j-driver';
import { randomUUID } from 'node:crypto';
import { VOCABULARY } from './bench/generate.js';
const d = neo4j.driver(process.env.NEO4J_URI!, neo4j.auth.basic(process.env.NEO4J_USER!, process.env.NEO4J_PASSWORD!), { disableLosslessIntegers: true });
const pick = () => VOCABULARY[Math.floor(Math.random() * VOCABULARY.length)];
const text = (n: number) => Array.from({ length: n }, pick).join(' ');
const rows = (n: number) => Array.from({ length: n }, () => ({ id: randomUUID(), type: 'Knowledge', createdAt: '2025-01-01T00:00:00Z', props: { sessionId: 'probe-perf', ideaId: 'idea-1', legacyId: randomUUID(), title: text(5), content: text(55), status: 'active', confidence: 0.5, properties: '{"tags":["x"]}', importFlags: [], originalType: 'fact' } }));
const q = `UNWIND $rows AS r MERGE (b:Block {id: r.id}) ON CREATE SET b:$(r.type), b += r.props, b.createdAt = datetime(r.createdAt)`;
for (const [conc, size] of [[1, 2000], [2, 2000], [4, 2000], [2, 5000], [2, 500]] as const) {
  const total = 12000;
  const t = performance.now();
  let left = total / size;
  await Promise.all(Array.from({ length: conc }, async () => {
    const s = d.session({ database: 'neo4j' });
    while (left-- > 0) await s.executeWrite((tx) => tx.run(q, { rows: rows(size) }));
    await s.close();
  }));
  console.log(`conc ${conc} batch ${size}:`, Math.round(total / ((performance.now() - t) / 1000)), 'rows/s');
}
const s = d.session({ database: 'neo4j' });
await s.run("MATCH (b:Block {sessionId: 'probe-perf'}) CALL { WITH b DETACH DELETE b } IN TRANSACTIONS OF 5000 ROWS");
await s.close(); await d.close();
