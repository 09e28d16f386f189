#!/usr/bin/env node
/**
 * @module leash
 * Runs a command on a leash held by the local stack: `node leash.js <stackPid> <command> [args…]`.
 * The stack starts the leash as the leader of a new process group (`leashed()`), and the
 * command runs in that group too (the Pub/Sub emulator's script execs Java there). When the
 * stack dies — even by SIGKILL, which it cannot catch — the leash sees its pid gone and ends
 * the whole group, so nothing the stack started outlives it. The stack stops a leashed process
 * by signalling its group. The leash exits with the command's code; stdio is inherited.
 */
import { spawn } from 'node:child_process';
import { isAlive } from './process-alive.js';

const [stackPidText, command, ...args] = process.argv.slice(2);
const stackPid = Number(stackPidText);
if (!Number.isInteger(stackPid) || !command) {
  process.stderr.write('usage: leash <stack pid> <command> [args…]\n');
  process.exit(2);
}

const child = spawn(command, args, { stdio: 'inherit' });
const endGroup = (signal: NodeJS.Signals) => {
  try {
    process.kill(-process.pid, signal);
  } catch {
    /* gone */
  }
};

// Group signals reach the command directly; the leash waits for it to exit.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => undefined);
const watch = setInterval(() => {
  if (isAlive(stackPid)) return;
  clearInterval(watch);
  endGroup('SIGTERM');
  setTimeout(() => endGroup('SIGKILL'), 2000);
}, 300);
child.on('exit', (code, signal) => {
  clearInterval(watch);
  process.exit(code ?? (signal ? 128 : 1));
});
child.on('error', (err) => {
  process.stderr.write(`leash: ${command}: ${err.message}\n`);
  process.exit(127);
});
