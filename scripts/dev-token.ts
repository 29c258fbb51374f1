// Prints a development token for a principal: npm run dev-token -- user alice [role,...]
import { Principal } from '@platform/contracts';
import { signToken } from '@platform/kit';
import { DEV_JWT } from './lib/local-env.js';

const [kind = 'user', id = 'dev-user', roles = ''] = process.argv.slice(2);
const principal = Principal.parse({ kind, id, roles: roles ? roles.split(',') : [] });
const secret = process.env['JWT_SECRET'] ?? DEV_JWT.secret;
console.log(await signToken(principal, { ...DEV_JWT, secret }, Number(process.env['TOKEN_TTL_SECONDS'] ?? 3600)));
