/**
 * @module process-alive
 * Whether a process still exists, for the watches that end the stack's processes with it (the
 * leash watches the stack; the stack watches what started it).
 */

/** True unless the pid is gone (a process of another user still exists: EPERM). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
