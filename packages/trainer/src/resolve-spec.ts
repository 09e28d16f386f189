/**
 * @module resolve-spec
 * `--model`: a built-in model's name, or the path of a spec (schema) JSON file.
 */
import { readFile } from 'node:fs/promises';
import {
  BUILTIN_MODEL_NAMES,
  builtinSpec,
  SpecError,
  specFromDocument,
  type ModelSpec,
} from '@bucketml/model';

export async function resolveSpec(model: string): Promise<ModelSpec> {
  const builtin = builtinSpec(model);
  if (builtin) return builtin;
  const text = await readFile(model, 'utf8').catch(() => null);
  if (text === null)
    throw new SpecError([
      `"${model}" is neither a built-in model (${BUILTIN_MODEL_NAMES.join(', ')}) nor a readable spec file`,
    ]);
  return specFromDocument(text, model);
}
