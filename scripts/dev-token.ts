// Prints a development token for a principal: npm run dev-token -- user alice [role,...]
import { Principal } from '@platform/contracts';
import { devToken } from '@platform/testkit';

const [kind = 'user', id = 'dev-user', roles = ''] = process.argv.slice(2);
const principal = Principal.parse({ kind, id, roles: roles ? roles.split(',') : [] });
// Signed by the local identity provider's key (.data/keys, made on first use); services started by
// `npm start` trust its public key. Agent tokens come from enrolment, service tokens from each service.
if (principal.kind !== 'user') {
  console.error(
    `dev-token signs user tokens only (kind '${principal.kind}'): agents are enrolled (coordination enrolment.create), services sign their own`,
  );
  process.exit(2);
}
console.log(await devToken(principal, Number(process.env['TOKEN_TTL_SECONDS'] ?? 3600)));
