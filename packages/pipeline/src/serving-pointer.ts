/**
 * @module serving-pointer
 * Reads models/<model>/serving.json, the pointer deploy swaps by compare-and-swap and predict
 * follows, and lists the models that have one (the deployed models). A pointer that is not one
 * (not JSON, not an object, no version, a version that is not a plain name or a prefix outside
 * its version's folder) is refused with a ServingPointerError naming the object, its generation
 * and what is wrong: read as is, it would serve "version undefined" or lead out of the model's
 * folder.
 */
import {
  isModelName,
  layout,
  parseServingPointerName,
  type ServingPointer,
} from '@bucketml/contracts';
import type { Storage } from '@bucketml/ports';

/** A serving.json that is not a serving pointer: its object name, generation and what is wrong. */
export class ServingPointerError extends Error {
  override name = 'ServingPointerError';
  constructor(
    readonly object: string,
    readonly generation: string,
    readonly problem: string,
  ) {
    super(`${object} (generation ${generation}) is not a valid serving pointer: ${problem}`);
  }
}

export async function readServingPointer(
  storage: Storage,
  model: string,
): Promise<{ pointer: ServingPointer; generation: string } | null> {
  const name = layout.servingPointer(model);
  const obj = await storage.read(name);
  if (!obj) return null;
  let value: unknown;
  try {
    value = JSON.parse(obj.data.toString('utf8'));
  } catch (err) {
    throw new ServingPointerError(name, obj.generation, `not JSON (${(err as Error).message})`);
  }
  const problem = pointerProblem(value, model);
  if (problem) throw new ServingPointerError(name, obj.generation, problem);
  return { pointer: value as ServingPointer, generation: obj.generation };
}

/** What makes `value` no pointer of `model`'s, or null. Only what readers act on is checked. */
function pointerProblem(value: unknown, model: string): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return `it holds ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}, not an object`;
  const { version, prefix } = value as Partial<Record<keyof ServingPointer, unknown>>;
  if (version === undefined) return 'it names no version';
  // A version is a folder of models/<model>/, named as plainly as the model.
  if (!isModelName(version))
    return `its version ${JSON.stringify(version)} is not a version name (letters, digits, _ and -)`;
  if (prefix !== undefined && prefix !== layout.modelVersionPrefix(model, version))
    return `its prefix ${JSON.stringify(prefix)} is not its version's folder ${layout.modelVersionPrefix(model, version)}`;
  return null;
}

/** Every model with a serving pointer, by name. */
export async function listModels(storage: Storage): Promise<string[]> {
  return (await storage.list(layout.modelsRoot))
    .map((o) => parseServingPointerName(o.name))
    .filter((m) => m !== null)
    .sort();
}
