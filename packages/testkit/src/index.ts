export * from './anvil.js';
export * from './nats.js';
export * from './ports.js';
export * from './postgres.js';
export * from './process.js';
export * from './prometheus.js';
export * from './redis.js';
export * from './signer.js';
