// Helpers for tests and benches, reached by package name (`@platform/testkit`) from every package,
// tests/ and scripts/: no package imports scripts/ or tests/ by relative path.
export * from './bench.js';
export * from './dev-keys.js';
export * from './local-env.js';
export * from './private-nats.js';
export * from './private-postgres.js';
export * from './problem-server.js';
export * from './eventually.js';
