/**
 * @module tf-backend
 * What trains: TensorFlow.js on native TensorFlow (tfjs-node) where it installs, else the fused
 * typed-array trainer (fused-network.ts); TensorFlow.js on wasm or cpu is the reference
 * implementation, chosen by BUCKETML_TF_BACKEND. Loads TensorFlow.js once per process.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { registerScatterAddKernel } from './scatter-add-kernel.js';
import { setting } from '@bucketml/contracts';

export type Tf = typeof tfTypes;
/** TensorFlow.js' backends. */
export type TfBackendName = 'tensorflow' | 'wasm' | 'cpu';
/** What can train a network: a TensorFlow.js backend, or the fused trainer. */
export type BackendName = TfBackendName | 'fused';

export interface TensorFlow {
  tf: Tf;
  /** The backend that runs: reported in logs and recorded in every saved model. */
  backend: TfBackendName;
  /** Why a faster backend was not used, if one was skipped. */
  notes: string[];
}

/** The fused trainer: no TensorFlow.js at all. */
export interface FusedEngine {
  tf?: undefined;
  backend: 'fused';
  notes: string[];
}

export type TrainingEngine = TensorFlow | FusedEngine;

const BACKENDS: BackendName[] = ['tensorflow', 'fused', 'wasm', 'cpu'];

/**
 * What trains in this process: BUCKETML_TF_BACKEND's choice, else tfjs-node when it loads, else
 * the fused trainer (faster than tfjs on wasm or cpu at every batch size; docs/benchmarks.md).
 */
export async function loadTrainingEngine(
  prefer = setting('BUCKETML_TF_BACKEND') as BackendName | undefined,
): Promise<TrainingEngine> {
  if (prefer && !BACKENDS.includes(prefer))
    throw new Error(`BUCKETML_TF_BACKEND must be ${BACKENDS.join(', ')} (got ${prefer})`);
  if (prefer === 'fused') return { backend: 'fused', notes: [] };
  if (prefer) return loadTensorFlow(prefer);
  const nodeBinding = await loadTfjsNode();
  if ('tf' in nodeBinding) return { tf: nodeBinding.tf, backend: 'tensorflow', notes: [] };
  return { backend: 'fused', notes: [nodeBinding.note] };
}

/** Tried once per process: a warm worker's jobs do not each pay a failing import. */
let tfjsNode: Promise<{ tf: Tf } | { note: string }> | undefined;
const loadTfjsNode = () => (tfjsNode ??= importTfjsNode());

async function importTfjsNode(): Promise<{ tf: Tf } | { note: string }> {
  try {
    // A variable specifier: the package is optional and may be absent at compile time too.
    const nodeBinding = '@tensorflow/tfjs-node';
    const tf = (await import(nodeBinding)) as Tf;
    await tf.ready();
    return { tf };
  } catch (err) {
    // Any failure (not installed, missing libtensorflow, ABI mismatch) means: not this one.
    // Absent is the usual case (an optional dependency): said as such, not as an error.
    const absent =
      (err as { code?: string })?.code === 'ERR_MODULE_NOT_FOUND' ||
      /can ?not be found|Cannot find module/i.test(firstLine(err));
    return {
      note: absent
        ? 'optional tfjs-node not installed'
        : `optional tfjs-node failed to load: ${firstLine(err)}`,
    };
  }
}

let loaded: Promise<TensorFlow> | undefined;

/**
 * Loads TensorFlow.js once per process, fastest backend first:
 * tfjs-node (native TensorFlow; an optional dependency that often cannot install), then the
 * wasm backend, then cpu — the last two with the scatter-add kernel for embedding gradients.
 * `BUCKETML_TF_BACKEND` forces one (tests and benchmarks use it).
 */
export function loadTensorFlow(prefer?: TfBackendName): Promise<TensorFlow> {
  const fromSetting = setting('BUCKETML_TF_BACKEND');
  prefer ??= fromSetting === 'fused' ? undefined : (fromSetting as TfBackendName | undefined);
  loaded ??= load(prefer);
  return loaded;
}

async function load(prefer: TfBackendName | undefined): Promise<TensorFlow> {
  if (prefer && !['tensorflow', 'wasm', 'cpu'].includes(prefer)) {
    throw new Error(`BUCKETML_TF_BACKEND must be ${BACKENDS.join(', ')} (got ${prefer})`);
  }
  const notes: string[] = [];
  if (!prefer || prefer === 'tensorflow') {
    const nodeBinding = await loadTfjsNode();
    if ('tf' in nodeBinding) return { tf: nodeBinding.tf, backend: 'tensorflow', notes };
    notes.push(nodeBinding.note);
    if (prefer === 'tensorflow') throw new Error(notes[0]);
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
