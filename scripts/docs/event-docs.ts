import { asyncApiDocument } from '@platform/kit';
import { join } from 'node:path';
import { ROOT } from '@platform/testkit';
import { renderEventsMarkdown } from './events-md.js';

/** The generated event documentation: absolute path → content. */
export function eventDocs(): Record<string, string> {
  const doc = asyncApiDocument();
  return {
    [join(ROOT, 'docs', 'events.md')]: renderEventsMarkdown(doc),
  };
}
