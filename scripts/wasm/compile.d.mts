/** The modules the repo commits compiled: text, TypeScript file, constant name. */
export const WASM_MODULES: { wat: string; out: string; constant: string }[];
/** WebAssembly text → bytes with wabt (SIMD on). */
export function compileWat(name: string, wat: string): Promise<Uint8Array>;
