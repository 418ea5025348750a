export * from './envelope.js';
export * from './errors.js';
