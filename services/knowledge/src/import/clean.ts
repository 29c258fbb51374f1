/*
 * The cleaning rules of the legacy import, as pure functions: one legacy row in, one clean
 * block or link (with the flags saying what was done) or a reject reason out. The importer,
 * the validation's spot check and the tests all use these, so they cannot disagree.
 *   clean-types.ts   rows, clean records, flags, the type map and limits
 *   clean-values.ts  SQLite's loose values: text, blank, confidence
 *   clean-block.ts   the block rules, one field per function
 *   clean-link.ts    the link rules
 */
export * from './clean-types.js';
export * from './clean-values.js';
export { cleanBlock } from './clean-block.js';
export { cleanLink, normalizeLinkType } from './clean-link.js';
