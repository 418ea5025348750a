export * from './auth.js';
export * from './config.js';
export * from './connect.js';
export * from './publish.js';
export * from './queues.js';
export * from './subjects.js';
export * from './submit.js';
