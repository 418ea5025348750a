export * from '../generated/index.js';
export * from './batch.js';
export * from './errors.js';
export * from './group.js';
export * from './reasons.js';
export * from './upkeeping.js';
