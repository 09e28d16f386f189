import { readFile } from 'node:fs/promises';
import { BUILTIN_SPECS, parseSpec, SpecError, type ModelSpec } from '@bucketml/model';

/** `--model`: a built-in model's name, or the path of a spec (schema) JSON file. */
export async function resolveSpec(model: string): Promise<ModelSpec> {
  const builtin = BUILTIN_SPECS[model];
  if (builtin) return builtin;
  let text: string;
  try {
    text = await readFile(model, 'utf8');
  } catch {
    throw new SpecError([`"${model}" is neither a built-in model (${Object.keys(BUILTIN_SPECS).join(', ')}) nor a readable spec file`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SpecError([`${model} is not valid JSON: ${(err as Error).message}`]);
  }
  return parseSpec(json);
}
