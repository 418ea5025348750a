export * from './cadence.js';
export * from './errors.js';
export * from './merkle.js';
export * from './record.js';
export * from './seed.js';
export * from './verify.js';
