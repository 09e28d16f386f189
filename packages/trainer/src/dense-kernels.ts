/**
 * @module dense-kernels
 * The fused trainer's dense layers in WebAssembly SIMD (dense-kernels.wat), and the memory they
 * work in. Scalar JavaScript reaches about 1.5 GFLOP/s per core here; four lanes per instruction
 * is what a batch of 512 needs to train at 150,000 examples/s (docs/benchmarks.md, training).
 * Each network has its own instance and memory: its weights, gradients and activations are
 * Float32Array views of that memory, so the kernels read and write them without a copy.
 */
import { DENSE_KERNELS_WASM } from './dense-kernels-wasm.js';

// The WebAssembly API as used here (TypeScript declares it only with the DOM library).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
const { WebAssembly: wasm } = globalThis as unknown as {
  WebAssembly: {
    Module: new (bytes: Uint8Array) => object;
    Instance: new (module: object) => { exports: unknown };
  };
};

interface Exports {
  memory: WasmMemory;
  affine(
    input: number,
    n: number,
    kernel: number,
    bias: number,
    out: number,
    m: number,
    rows: number,
    relu: number,
  ): void;
  backward(
    a: number,
    n: number,
    dOut: number,
    m: number,
    kernel: number,
    gradKernel: number,
    dIn: number,
    rows: number,
    from: number,
    relu: number,
  ): void;
}

let compiled: object | undefined;
const PAGE = 65_536;

/** A block of the memory: where it is, and the view that reads it (remade when memory grows). */
export interface Block {
  readonly offset: number;
  readonly length: number;
  view: Float32Array;
}

/** One network's kernels and memory: blocks are allocated once, never freed. */
export class DenseKernels {
  private readonly exports: Exports;
  private readonly blocks: Block[] = [];
  private top = 0;

  constructor() {
    compiled ??= new wasm.Module(Buffer.from(DENSE_KERNELS_WASM, 'base64'));
    this.exports = new wasm.Instance(compiled).exports as unknown as Exports;
  }

  /** A zeroed block of `length` floats, 16-byte aligned (a vector load never splits it). */
  allocate(length: number): Block {
    const offset = this.top;
    this.top += Math.ceil((length * 4) / 16) * 16;
    const { memory } = this.exports;
    if (this.top > memory.buffer.byteLength) {
      memory.grow(Math.ceil((this.top - memory.buffer.byteLength) / PAGE));
      // Growing detaches the old buffer: every view is remade on the new one.
      for (const b of this.blocks) b.view = new Float32Array(memory.buffer, b.offset, b.length);
    }
    const block = { offset, length, view: new Float32Array(memory.buffer, offset, length) };
    this.blocks.push(block);
    return block;
  }

  /** out = relu?(input · kernel + bias) over `rows` rows (a multiple of 4). */
  affine(
    input: Block,
    n: number,
    kernel: Block,
    bias: Block,
    out: Block,
    m: number,
    rows: number,
    relu: boolean,
  ): void {
    this.exports.affine(input.offset, n, kernel.offset, bias.offset, out.offset, m, rows, +relu);
  }

  /** gradKernel += aᵀ · dOut; dIn = dOut · kernelᵀ for inputs from `from` on (then relu'). */
  backward(
    a: Block,
    n: number,
    dOut: Block,
    m: number,
    kernel: Block,
    gradKernel: Block,
    dIn: Block,
    rows: number,
    from: number,
    relu: boolean,
  ): void {
    this.exports.backward(
      a.offset,
      n,
      dOut.offset,
      m,
      kernel.offset,
      gradKernel.offset,
      dIn.offset,
      rows,
      from,
      +relu,
    );
  }
}
