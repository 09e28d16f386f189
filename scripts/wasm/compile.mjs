/**
 * @module wasm/compile
 * WebAssembly text → bytes with wabt (SIMD on), and the modules the repo commits compiled: the
 * build script writes them, test/wasm-modules.test.ts holds the committed bytes to the text.
 */
import { join } from 'node:path';
import initWabt from 'wabt';

const ROOT = join(import.meta.dirname, '../..');

/** Each module: its text, the TypeScript file that carries its bytes, and the constant's name. */
export const WASM_MODULES = [
  {
    wat: join(ROOT, 'packages/trainer/src/dense-kernels.wat'),
    out: join(ROOT, 'packages/trainer/src/dense-kernels-wasm.ts'),
    constant: 'DENSE_KERNELS_WASM',
  },
  {
    wat: join(ROOT, 'packages/model/src/csv-index.wat'),
    out: join(ROOT, 'packages/model/src/csv-index-wasm.ts'),
    constant: 'CSV_INDEX_WASM',
  },
];

/** The binary module of `wat` (`name` is for wabt's messages). */
export async function compileWat(name, wat) {
  const wabt = await initWabt();
  const module = wabt.parseWat(name, wat, { simd: true });
  try {
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}
