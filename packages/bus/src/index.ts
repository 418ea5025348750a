export * from './connect.js';
export * from './publish.js';
export * from './subjects.js';
