#!/usr/bin/env node
/**
 * @module bucketml
 * The `bucketml` executable: runs the verb named by the first argument (see src/cli.ts) and
 * exits with its code: 0 ok, 1 bad data / model / instances, 2 bad usage.
 */
import { main } from '../dist/cli.js';

// A reader that stops early (`bucketml models | head`) is no error: stop writing, quietly.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await main(process.argv.slice(2));
