/**
 * Normalisation constants for dense features, computed on the training data only and stored in
 * the saved model, so serving applies exactly the transform training saw.
 */
export interface DenseStats {
  name: string;
  mean: number;
  std: number;
}

export interface Preprocessing {
  dense: DenseStats[];
}

export function computePreprocessing(names: string[], dense: Float32Array, size: number): Preprocessing {
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
