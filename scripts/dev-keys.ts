// Development signing keys for docker compose: npm run dev-keys [-- --dir <dir>]
//
// Makes (once) the local key pairs under .data/keys — the local identity provider that signs user
// tokens (npm run dev-token) and one key per service — and prints the line .env needs:
//
//   AUTH_ISSUERS='[{"issuer":"agent-platform-dev-idp","jwks":{"keys":[…public key…]},"kinds":["user"]},…]'
//
// Only public keys are printed. docker-compose.yml mounts the private keys of operations and
// coordination (the services that sign tokens) as compose secrets; knowledge gets none.
// Never use these keys outside a development machine.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { devAuth, keyFile } from '@platform/testkit';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({ options: { dir: { type: 'string' } } });
const dir = path.resolve(values.dir ?? path.join(ROOT, '.data', 'keys'));
const { issuers } = devAuth(dir);

// Single quotes: docker compose takes the value literally (no ${} interpolation), as a shell would.
process.stdout.write(`AUTH_ISSUERS='${JSON.stringify(issuers)}'\n`);

const signing = ['operations', 'coordination'].map((s) => path.relative(process.cwd(), keyFile(dir, s)));
process.stderr.write(
  `# ${issuers.length} issuers (public keys only) for .env; private keys stay in ${path.relative(process.cwd(), dir) || '.'}\n` +
    `# docker compose mounts ${signing.join(' and ')} (read as uid 1000 inside the containers)\n`,
);
const uid = process.getuid?.();
if (uid !== undefined && uid !== 1000) {
  process.stderr.write(
    `# note: you are uid ${uid} and the key files are 0600; docker compose bind-mounts them as they are, so the\n` +
      `#   services (uid 1000) cannot read them: sudo chown 1000 ${signing.join(' ')}\n`,
  );
}
