export * from './ids.js';
export * from './blocks.js';
export * from './tasks.js';
export * from './jobs.js';
export * from './principal.js';
export * from './events.js';
