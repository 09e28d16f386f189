#!/usr/bin/env node
/**
 * @module bucketml-worker
 * The local training service's warm trainer: `bucketml train` jobs, one per stdin line (see
 * src/worker.ts).
 */
import '../dist/worker.js';
