export * from './config.js';
export * from './connect.js';
export * from './publish.js';
export * from './subjects.js';
