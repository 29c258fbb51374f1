export * from './agent.js';
export * from './heartbeats.js';
export * from './enrolment.js';
