/**
 * docker compose's nats-server config, deploy/nats/nats.conf: the users and permissions of
 * shared/contracts/src/nats-permissions.ts (one user per service, `subscriber`, `agent`, `platform`), each
 * password read from the server's environment (`$<USER>_NATS_PASSWORD`, which compose passes from
 * .env). Committed so compose needs no Node to start; scripts/deploy/compose.int.test.ts fails when it
 * differs from what @platform/contracts/nats-permissions renders now.
 *
 *   npx tsx --conditions=@platform/source scripts/deploy/nats-conf.ts          write deploy/nats/nats.conf
 *   npx tsx --conditions=@platform/source scripts/deploy/nats-conf.ts --check  exit 1 when the committed file is out of date
 *
 * JetStream is switched on by compose's command line (`-js -sd /data`), as nats-permissions.ts expects.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderNatsConfig } from '@platform/contracts/nats-permissions';
import { ROOT } from './lib.js';

export const COMPOSE_NATS_CONF = path.join(ROOT, 'deploy', 'nats', 'nats.conf');

/** What deploy/nats/nats.conf must contain. */
export function composeNatsConf(): string {
  return [
    '# docker compose\'s NATS config (docker-compose.yml `configs: nats-conf`). Generated: run',
    '# `npx tsx --conditions=@platform/source scripts/deploy/nats-conf.ts` after changing shared/contracts/src/nats-permissions.ts.',
    '# Passwords come from the server\'s environment ($<USER>_NATS_PASSWORD, set from .env).',
    renderNatsConfig({ serverName: 'agent_platform', listen: '0.0.0.0:4222', http: '127.0.0.1:8222', passwords: {}, envRefs: true }),
  ].join('\n');
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const want = composeNatsConf();
  const rel = path.relative(ROOT, COMPOSE_NATS_CONF);
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(COMPOSE_NATS_CONF, 'utf8');
    } catch {
      // missing: reported as out of date below
    }
    if (current !== want) {
      process.stderr.write(`${rel} is out of date: run npx tsx --conditions=@platform/source scripts/deploy/nats-conf.ts\n`);
      process.exit(1);
    }
  } else {
    writeFileSync(COMPOSE_NATS_CONF, want);
    process.stdout.write(`wrote ${rel}\n`);
  }
}
