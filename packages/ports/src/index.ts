export * from './storage.js';
export * from './messaging.js';
export * from './training-backend.js';
