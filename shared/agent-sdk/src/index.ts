export * from './agent.js';
export * from './heartbeats.js';
