/**
 * @module preprocessing
 * Normalisation constants for dense features and the label's transform, computed on the
 * training data only and stored in the saved model, so serving applies exactly the transform
 * training saw (and answers in the label's own units).
 */
import type { LabelSpec } from './spec.js';

export interface DenseStats {
  name: string;
  mean: number;
  std: number;
}

/** The network learns z = (t(y) − mean) / std, t = log1p or identity; answers invert it. */
export interface LabelTransform {
  transform?: 'log1p';
  mean: number;
  std: number;
}

export interface Preprocessing {
  dense: DenseStats[];
  label?: LabelTransform;
}

/** The label transform a spec asks for, fitted on the training labels (undefined: none). */
export function fitLabelTransform(
  label: LabelSpec,
  labels: Float32Array,
): LabelTransform | undefined {
  if (!label.transform && !label.standardize) return undefined;
  const t = label.transform === 'log1p' ? Math.log1p : (y: number) => y;
  let sum = 0;
  let sumSq = 0;
  for (const y of labels) {
    const z = t(y);
    sum += z;
    sumSq += z * z;
  }
  const mean = label.standardize ? sum / labels.length : 0;
  const variance = Math.max(0, sumSq / labels.length - (sum / labels.length) ** 2);
  const std = label.standardize && variance > 1e-12 ? Math.sqrt(variance) : 1;
  return { ...(label.transform ? { transform: label.transform } : {}), mean, std };
}

/** The training target for label y. */
export function encodeLabel(lt: LabelTransform | undefined, y: number): number {
  if (!lt) return y;
  return ((lt.transform === 'log1p' ? Math.log1p(y) : y) - lt.mean) / lt.std;
}

/** The answer, in the label's units, for the network's output z. */
export function decodeLabel(lt: LabelTransform | undefined, z: number): number {
  if (!lt) return z;
  const t = z * lt.std + lt.mean;
  return lt.transform === 'log1p' ? Math.expm1(t) : t;
}

export function computePreprocessing(
  names: string[],
  dense: Float32Array,
  size: number,
): Preprocessing {
  const k = names.length;
  const sum = new Float64Array(k);
  const sumSq = new Float64Array(k);
  for (let r = 0; r < size; r++) {
    for (let i = 0; i < k; i++) {
      const x = dense[r * k + i];
      sum[i] += x;
      sumSq[i] += x * x;
    }
  }
  return {
    dense: names.map((name, i) => {
      const mean = sum[i] / size;
      const variance = Math.max(0, sumSq[i] / size - mean * mean);
      // A constant column keeps std 1 so it normalises to 0 instead of dividing by zero.
      return { name, mean, std: variance > 1e-12 ? Math.sqrt(variance) : 1 };
    }),
  };
}

/** Normalises rows in place: x ← (x − mean) / std. */
export function normalizeDense(pre: Preprocessing, dense: Float32Array): void {
  const k = pre.dense.length;
  for (let j = 0; j < dense.length; j++) {
    const s = pre.dense[j % k];
    dense[j] = (dense[j] - s.mean) / s.std;
  }
}
