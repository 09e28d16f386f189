/** WebAssembly text → bytes with wabt (SIMD on). */
export function compileKernels(wat: string): Promise<Uint8Array>;
