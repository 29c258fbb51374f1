// Walks the vertical slice against the running system (`npm start`) and prints each step.
import { SERVICE_PORTS } from '@platform/testkit';
import { walkVerticalSlice } from './lib/vertical-slice.js';

const user = process.argv[2] ?? 'demo-user';
try {
  await walkVerticalSlice(SERVICE_PORTS, user, (n, text, detail) => console.log(`${n}. ${text}\n   ${JSON.stringify(detail)}`));
  process.exit(0);
} catch (err) {
  console.error('demo failed (is `npm start` running?):', err instanceof Error ? err.message : err);
  process.exit(1);
}
