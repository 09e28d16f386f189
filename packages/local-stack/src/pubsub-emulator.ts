/**
 * @module pubsub-emulator
 * The Pub/Sub emulator, found and started directly (not through `gcloud beta emulators`, whose
 * wrapper leaves the Java child behind when stopped).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { leashed } from './leashed.js';
import { setting } from '@bucketml/contracts';

const CANDIDATES = [
  '/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator',
  '/usr/share/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator',
  '/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator',
];

export function findPubSubEmulator(env = process.env): string {
  const configured = setting('BUCKETML_PUBSUB_EMULATOR', env);
  if (configured) {
    if (!existsSync(configured))
      throw new Error(`BUCKETML_PUBSUB_EMULATOR=${configured} does not exist`);
    return configured;
  }
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'Pub/Sub emulator not found. Install the Google Cloud CLI component (apt: google-cloud-cli-pubsub-emulator, ' +
        'or `gcloud components install pubsub-emulator`) and Java 11+, or set BUCKETML_PUBSUB_EMULATOR to its cloud-pubsub-emulator script.',
    );
  }
  return found;
}

export interface PubSubEmulator {
  host: string;
  stop(): Promise<void>;
}

/** Starts the emulator on 127.0.0.1:`port`; ready when GET / answers "Ok". */
export async function startPubSubEmulator(
  port: number,
  timeoutMs = 60_000,
): Promise<PubSubEmulator> {
  const bin = findPubSubEmulator();
  // On a leash: the emulator (its script execs Java) ends with the stack, even a killed one.
  const child: ChildProcess = leashed(bin, [`--host=127.0.0.1`, `--port=${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const host = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    // The script execs java in the same process group: signal the whole group.
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
        resolve();
      }, 3000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  };
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (child.exitCode !== null)
      throw new Error(`Pub/Sub emulator exited with ${child.exitCode}:\n${output}`);
    const ok = await fetch(`http://${host}/`).then(
      (r) => r.text(),
      () => '',
    );
    if (ok.trim() === 'Ok') return { host, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`Pub/Sub emulator not ready after ${timeoutMs} ms:\n${output}`);
}
