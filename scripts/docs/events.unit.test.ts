import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '@platform/testkit';
import { eventDocs } from './event-docs.js';
import { renderEventsMarkdown, typeOf } from './events-md.js';
import { asyncApiDocument } from '@platform/kit';
import { eventSchemas } from '@platform/contracts';

describe('docs/events.md', () => {
  it.each(Object.entries(eventDocs()).map(([path, text]) => [relative(ROOT, path), path, text] as const))(
    '%s is what `npm run docs:events` generates from shared/contracts (run it after changing an event schema)',
    (_name, path, text) => {
      expect(readFileSync(path, 'utf8')).toBe(text);
    },
  );

  it('has a section for every subject, with its stream and publisher', () => {
    const md = renderEventsMarkdown(asyncApiDocument());
    for (const subject of Object.keys(eventSchemas)) {
      const service = subject.split('.')[0]!;
      expect(md).toContain(`\n### ${subject}\n`);
      expect(md).toContain(`| [\`${subject}\`](#${subject.replaceAll('.', '')}) | \`${service.toUpperCase()}_EVENTS\` | ${service} |`);
    }
  });

  it.each([
    [{ type: 'string', format: 'uuid' }, 'string (uuid)'],
    [{ anyOf: [{ type: 'string', maxLength: 200 }, { type: 'null' }] }, 'string (0–200 chars) | null'],
    [{ type: 'string', enum: ['a', 'b'] }, '"a" | "b"'],
    [{ type: 'integer', minimum: 1, maximum: 9 }, 'integer ≥ 1'],
    [{ type: 'array', items: { type: 'string' } }, 'array of string'],
    [{}, 'any (JSON)'],
  ])('renders the type %j as %s', (schema, text) => {
    expect(typeOf(schema)).toBe(text);
  });
});
