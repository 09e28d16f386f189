/**
 * @module serving-pointer
 * Reads models/<model>/serving.json, the pointer deploy swaps by compare-and-swap and predict
 * follows, and lists the models that have one (the deployed models).
 */
import { layout, parseServingPointerName, type ServingPointer } from '@bucketml/contracts';
import type { Storage } from '@bucketml/ports';

export async function readServingPointer(
  storage: Storage,
  model: string,
): Promise<{ pointer: ServingPointer; generation: string } | null> {
  const obj = await storage.read(layout.servingPointer(model));
  return obj
    ? {
        pointer: JSON.parse(obj.data.toString('utf8')) as ServingPointer,
        generation: obj.generation,
      }
    : null;
}

/** Every model with a serving pointer, by name. */
export async function listModels(storage: Storage): Promise<string[]> {
  return (await storage.list(layout.modelsRoot))
    .map((o) => parseServingPointerName(o.name))
    .filter((m) => m !== null)
    .sort();
}
