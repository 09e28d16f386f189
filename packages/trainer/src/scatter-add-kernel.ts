/**
 * @module scatter-add-kernel
 * A scatter-add UnsortedSegmentSum kernel for the cpu and wasm backends (embedding gradients).
 */
import type * as tfTypes from '@tensorflow/tfjs';

type Tf = typeof tfTypes;

/**
 * UnsortedSegmentSum as a plain scatter-add. It is the gradient of `gather` (embedding lookups):
 * the stock cpu kernel builds a one-hot matrix per segment and trains at ~300 examples/s, and
 * the wasm backend has no kernel at all. This one touches each input element once.
 */
export function registerScatterAddKernel(tf: Tf, backendName: 'cpu' | 'wasm'): void {
  if (tf.getKernel('UnsortedSegmentSum', backendName))
    tf.unregisterKernel('UnsortedSegmentSum', backendName);
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName,
    kernelFunc: scatterAdd as tfTypes.KernelFunc,
  });
}

interface Backend {
  readSync(dataId: object): ArrayLike<number>;
  // wasm: output allocated on the wasm heap
  makeOutput?(shape: number[], dtype: string): tfTypes.TensorInfo;
  typedArrayFromHeap?(info: tfTypes.TensorInfo): Float32Array | Int32Array;
  // cpu
  makeTensorInfo?(
    shape: number[],
    dtype: string,
    values: Float32Array | Int32Array,
  ): tfTypes.TensorInfo;
}

function scatterAdd({
  inputs,
  backend,
  attrs,
}: {
  inputs: Record<string, tfTypes.TensorInfo>;
  backend: Backend;
  attrs: { numSegments: number };
}) {
  const { x, segmentIds } = inputs;
  const { numSegments } = attrs;
  const values = backend.readSync(x.dataId);
  const ids = backend.readSync(segmentIds.dataId);
  const innerShape = x.shape.slice(segmentIds.shape.length);
  const inner = innerShape.reduce((a, b) => a * b, 1);
  const shape = [numSegments, ...innerShape];
  const onHeap = typeof backend.typedArrayFromHeap === 'function';
  let info: tfTypes.TensorInfo | undefined;
  let out: Float32Array | Int32Array;
  if (onHeap) {
    info = backend.makeOutput!(shape, x.dtype);
    out = backend.typedArrayFromHeap!(info);
    out.fill(0); // heap memory is recycled, not zeroed
  } else {
    out =
      x.dtype === 'int32'
        ? new Int32Array(numSegments * inner)
        : new Float32Array(numSegments * inner);
  }
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue; // TensorFlow drops out-of-range ids
    const dst = s * inner;
    const src = i * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += values[src + j];
  }
  return onHeap ? info! : backend.makeTensorInfo!(shape, x.dtype, out);
}
