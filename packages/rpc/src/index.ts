export * from './admission.js';
export * from './client.js';
export * from './config.js';
export * from './server.js';
export * from './tls.js';
