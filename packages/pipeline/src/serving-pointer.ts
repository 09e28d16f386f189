import type { Storage } from '@bucketml/ports';
import { layout } from './layout.js';

/** models/<model>/serving.json: which version serves, changed only by compare-and-swap. */
export interface ServingPointer {
  model: string;
  version: string;
  /** Object prefix of the version's model directory. */
  prefix: string;
  rmse: number;
  runId: string;
  deployedAt: string;
  previousVersion?: string;
}

export async function readServingPointer(storage: Storage, model: string): Promise<{ pointer: ServingPointer; generation: string } | null> {
  const obj = await storage.read(layout.servingPointer(model));
  return obj ? { pointer: JSON.parse(obj.data.toString('utf8')) as ServingPointer, generation: obj.generation } : null;
}
