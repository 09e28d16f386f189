/**
 * @module leashed
 * Starts a child of the local stack on a leash (see leash.ts): in its own process group, ended
 * with the stack even when the stack is killed. `stopGroup` signals the whole group.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LEASH = fileURLToPath(new URL('./leash.js', import.meta.url));

export function leashed(command: string, args: string[], options: SpawnOptions): ChildProcess {
  return spawn(process.execPath, [LEASH, String(process.pid), command, ...args], {
    ...options,
    detached: true,
  });
}

/** Signals a leashed child's whole group (the command and whatever it started). */
export function stopGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}
