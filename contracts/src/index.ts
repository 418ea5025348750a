export * from '../generated/index.js';
export * from './batch.js';
export * from './errors.js';
export * from './group.js';
export * from './upkeeping.js';
