/**
 * @module tf-backend
 * Loads TensorFlow.js once per process, fastest backend first (tfjs-node, then wasm, then cpu).
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { registerScatterAddKernel } from './scatter-add-kernel.js';
import { setting } from '@bucketml/contracts';

export type Tf = typeof tfTypes;
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface TensorFlow {
  tf: Tf;
  /** The backend that runs: reported in logs and recorded in every saved model. */
  backend: BackendName;
  /** Why a faster backend was not used, if one was skipped. */
  notes: string[];
}

let loaded: Promise<TensorFlow> | undefined;

/**
 * Loads TensorFlow.js once per process, fastest backend first:
 * tfjs-node (native TensorFlow; an optional dependency that often cannot install), then the
 * wasm backend, then cpu — the last two with the scatter-add kernel for embedding gradients.
 * `BUCKETML_TF_BACKEND` forces one (tests and benchmarks use it).
 */
export function loadTensorFlow(
  prefer = setting('BUCKETML_TF_BACKEND') as BackendName | undefined,
): Promise<TensorFlow> {
  loaded ??= load(prefer);
  return loaded;
}

async function load(prefer: BackendName | undefined): Promise<TensorFlow> {
  if (prefer && !['tensorflow', 'wasm', 'cpu'].includes(prefer)) {
    throw new Error(`BUCKETML_TF_BACKEND must be tensorflow, wasm or cpu (got ${prefer})`);
  }
  const notes: string[] = [];
  if (!prefer || prefer === 'tensorflow') {
    try {
      // A variable specifier: the package is optional and may be absent at compile time too.
      const nodeBinding = '@tensorflow/tfjs-node';
      const tf = (await import(nodeBinding)) as Tf;
      await tf.ready();
      return { tf, backend: 'tensorflow', notes };
    } catch (err) {
      // Any failure (not installed, missing libtensorflow, ABI mismatch) means: use a pure backend.
      notes.push(`tfjs-node unavailable: ${firstLine(err)}`);
      if (prefer === 'tensorflow') throw new Error(notes[0]);
    }
  }
  const tf = (await import('@tensorflow/tfjs')) as Tf;
  tf.env().set('PROD', true); // no debug checks, and no "install tfjs-node" banner
  if (!prefer || prefer === 'wasm') {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      registerScatterAddKernel(tf, 'wasm');
      if (await tf.setBackend('wasm')) return { tf, backend: 'wasm', notes };
      notes.push('wasm backend failed to initialise');
    } catch (err) {
      notes.push(`wasm backend unavailable: ${firstLine(err)}`);
    }
    if (prefer === 'wasm') throw new Error(notes.at(-1));
  }
  registerScatterAddKernel(tf, 'cpu');
  await tf.setBackend('cpu');
  return { tf, backend: 'cpu', notes };
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}
