/**
 * `npm run docs:events`: writes docs/events.md (every subject) from the zod
 * schemas in shared/contracts. scripts/docs/events.unit.test.ts fails when the committed files are
 * out of date, so a change to an event schema comes with its documentation.
 */
import { writeFileSync } from 'node:fs';
import { eventDocs } from './event-docs.js';

for (const [path, text] of Object.entries(eventDocs())) {
  writeFileSync(path, text);
  console.log(`wrote ${path}`);
}
