import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { compileWat, WASM_MODULES } from '../scripts/wasm/compile.mjs';

/** The committed WebAssembly bytes are their text compiled: an edit of a .wat must be rebuilt. */
describe('committed WebAssembly modules', () => {
  for (const { wat, out, constant } of WASM_MODULES) {
    it(`${basename(out)} is ${basename(wat)} compiled (npm run build:wasm)`, async () => {
      const bytes = Buffer.from(await compileWat(basename(wat), readFileSync(wat, 'utf8')));
      const committed = (await import(out)) as Record<string, string>;
      assert.ok(bytes.equals(Buffer.from(committed[constant], 'base64')), 'run npm run build:wasm');
    });
  }
});
