/**
 * @module serving-pointer
 * Reads models/<model>/serving.json, the pointer deploy swaps by compare-and-swap and predict
 * follows.
 */
import { layout, type ServingPointer } from '@bucketml/contracts';
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
