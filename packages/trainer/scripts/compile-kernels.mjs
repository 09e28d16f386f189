/**
 * @module compile-kernels
 * WebAssembly text → bytes with wabt (SIMD on), shared by the build script and the test that
 * holds the committed bytes to the text.
 */
import initWabt from 'wabt';

/** The binary module of `wat`. */
export async function compileKernels(wat) {
  const wabt = await initWabt();
  const module = wabt.parseWat('dense-kernels.wat', wat, { simd: true });
  try {
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}
