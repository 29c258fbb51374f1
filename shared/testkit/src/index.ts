// Helpers for tests and benches, reached by package name (`@platform/testkit`) from every package,
// tests/ and scripts/: no package imports scripts/ or tests/ by relative path.
export * from './bench.js';
export * from './dev-keys.js';
export * from './local-env.js';
export * from './private-nats.js';
export {
  DEAD_LETTER_STREAM,
  EVENT_STREAMS,
  FOREIGN_DURABLES,
  inboxPrefixOf,
  NATS_USER_NAMES,
  natsPermissions,
  renderNatsAuthorization,
  renderNatsConfig,
  TEAM_MEMBERSHIP_BUCKET,
  passwordEnvVar,
  type NatsConfigOptions,
  type NatsPasswords,
  type NatsUserName,
  type Permissions,
} from './nats-config.js';
export * from './private-postgres.js';
export * from './problem-server.js';
export * from './eventually.js';
