// `@platform/coordination/testing`: what other packages' tests (the agent SDK's) need to run a real
// coordination in process, reached by package name instead of by path into this package.
export { ensureCoordinationStreams } from '../../src/events/streams.js';
export { FAST, startTestCoordination, type TestCoordination } from './coordination.js';
export { readEvents, waitFor } from './events.js';
