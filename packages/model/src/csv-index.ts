/**
 * @module csv-index
 * Where the CSV scanner's fields can end: the offsets of every comma, double quote, LF and CR in
 * a buffer, found by a WebAssembly SIMD kernel (csv-index.wat) sixteen bytes at a time. The
 * scanner steps from one such byte to the next instead of testing every byte in JavaScript,
 * which was most of a read's scan (docs/benchmarks.md, data).
 */
import { CSV_INDEX_WASM } from './csv-index-wasm.js';

// The WebAssembly API as used here (TypeScript declares it only with the DOM library).
const { WebAssembly: wasm } = globalThis as unknown as {
  WebAssembly: {
    Module: new (bytes: Uint8Array) => object;
    Instance: new (module: object) => { exports: unknown };
  };
};

interface Exports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  index(n: number, out: number): number;
}

/**
 * Bytes indexed at a time: bounds the kernel's memory whatever the record or chunk size. Well
 * under a read's chunk, so refills run from the first rows on: a path first taken only once V8
 * has optimized the scan deoptimizes it.
 */
const WINDOW = 1 << 16;
const PAGE = 65_536;
/** The window's bytes (zero-padded to a multiple of 16), then its offsets (at most one a byte). */
const OFFSETS_AT = WINDOW + 16;
const MEMORY_BYTES = OFFSETS_AT + 4 * (WINDOW + 16);

let kernel: { exports: Exports; bytes: Uint8Array; offsets: Int32Array } | undefined;

/**
 * The kernel and its memory, made once per thread. One instance serves every scanner: a
 * scanner indexes and consumes its window within one synchronous `push`.
 */
function indexKernel() {
  if (!kernel) {
    const module = new wasm.Module(Buffer.from(CSV_INDEX_WASM, 'base64'));
    const exports = new wasm.Instance(module).exports as Exports;
    exports.memory.grow(Math.ceil(MEMORY_BYTES / PAGE) - exports.memory.buffer.byteLength / PAGE);
    const buffer = exports.memory.buffer;
    kernel = {
      exports,
      bytes: new Uint8Array(buffer, 0, OFFSETS_AT),
      offsets: new Int32Array(buffer, OFFSETS_AT, WINDOW + 16),
    };
  }
  return kernel;
}

/** The structural bytes of one buffer, read forward from any offset. */
export class StructuralIndex {
  private buf: Uint8Array = new Uint8Array(0);
  /** The indexed window's start and end in `buf`, its offsets' count and the next one to read. */
  private base = 0;
  private end = 0;
  private count = 0;
  private at = 0;
  private readonly offsets = indexKernel().offsets;

  /** Starts on a new buffer (nothing indexed yet). */
  reset(buf: Uint8Array): void {
    this.buf = buf;
    this.base = this.end = this.count = this.at = 0;
  }

  /**
   * The offset of the first comma, quote, LF or CR at or after `from`, or the buffer's length;
   * the next call's `from` is past it. (Small, so the scanner inlines it; skipping offsets, the
   * window's end and refills are `past`'s.)
   */
  next(from: number): number {
    const at = this.at;
    if (at < this.count) {
      const p = this.base + this.offsets[at];
      if (p >= from) {
        this.at = at + 1;
        return p;
      }
    }
    return this.past(from);
  }

  /** `next` once the offset read next is behind `from` or the window is spent. */
  private past(from: number): number {
    for (;;) {
      while (this.at < this.count) {
        const p = this.base + this.offsets[this.at];
        this.at++;
        if (p >= from) return p;
      }
      if (this.end >= this.buf.length) return this.buf.length;
      this.fill(Math.max(from, this.end));
    }
  }

  /** Indexes the window from `start`. */
  private fill(start: number): void {
    const k = indexKernel();
    const end = Math.min(this.buf.length, start + WINDOW);
    const n = end - start;
    k.bytes.set(this.buf.subarray(start, end), 0);
    k.bytes.fill(0, n, (n + 15) & ~15);
    this.count = k.exports.index(n, OFFSETS_AT);
    this.base = start;
    this.end = end;
    this.at = 0;
  }
}
