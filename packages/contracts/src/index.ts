/**
 * @module @bucketml/contracts
 * What two processes must agree on, written once; producers and consumers both import it.
 */
export * from './layout.js';
export * from './ids.js';
export * from './jobs.js';
export * from './trainer.js';
export * from './functions.js';
export * from './run.js';
export * from './events.js';
export * from './storage-event.js';
export * from './settings.js';
export * from './vertex-serving.js';
export * from './pages.js';
