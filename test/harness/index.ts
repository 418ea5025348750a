// A reusable in-process launcher of keeper clusters for the cross-service
// suites and the local network: shared servers, keepers, provider nodes.
export * from './chain.js';
export * from './group.js';
export * from './infra.js';
export * from './keeper.js';
export * from './providers.js';
export * from './records.js';
export * from './solo.js';
