/**
 * @module @bucketml/ports
 * The ports the pipeline is written against: storage (the bucket), messaging and the training
 * backend. Interfaces only; each adapter is its own entry point (directory-bucket, gcs-bucket,
 * pubsub, local-training, vertex-training, testing), so importing the ports loads no client
 * library.
 */
export * from './storage.js';
export * from './messaging.js';
export * from './training-backend.js';
