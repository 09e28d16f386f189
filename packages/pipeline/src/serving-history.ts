/**
 * @module serving-history
 * models/<model>/history.jsonl: every change of the serving pointer, one line each. A change is
 * recorded after its compare-and-swap on serving.json, under the generation that write made:
 * the stage that swapped records it (and its redelivery, after a crash between the two, records
 * it then), and a second record of the same generation is a no-op, so each pointer write has
 * exactly one line. Appends are compare-and-swaps on the history's own generation.
 */
import { layout, type ServingChange, type ServingPointer } from '@bucketml/contracts';
import type { Storage } from '@bucketml/ports';
import { updateObject } from './object-update.js';

/** The history, oldest first (unparseable lines are skipped: they cannot be acted on). */
export async function readServingHistory(
  storage: Storage,
  model: string,
): Promise<ServingChange[]> {
  const obj = await storage.read(layout.servingHistory(model));
  return obj ? parseHistory(obj.data.toString('utf8')) : [];
}

/**
 * The history line of a pointer write, from the pointer (`generation`: the one the write made).
 * Its writer adds what only it knows (the serving figure on the same rows); a line rebuilt from
 * the pointer alone (its writer's own line was lost) has the pointer's note or says so.
 */
export function servingChangeOf(pointer: ServingPointer, generation: string): ServingChange {
  return {
    at: pointer.deployedAt,
    model: pointer.model,
    reason: pointer.reason ?? 'deploy',
    ...(pointer.previousVersion ? { from: pointer.previousVersion } : {}),
    to: pointer.version,
    runId: pointer.runId,
    metric: pointer.metric,
    value: pointer.value,
    note:
      pointer.note ?? `recorded from the serving pointer: the deployment's own line was missing`,
    pointerGeneration: generation,
  };
}

/** Appends `change` unless its pointer generation is recorded already. */
export async function recordServingChange(storage: Storage, change: ServingChange): Promise<void> {
  await updateObject(
    storage,
    layout.servingHistory(change.model),
    (text) => {
      const current = text ?? '';
      if (parseHistory(current).some((c) => c.pointerGeneration === change.pointerGeneration))
        return null;
      const lead = current === '' || current.endsWith('\n') ? current : `${current}\n`;
      return `${lead}${JSON.stringify(change)}\n`;
    },
    // Each race lost is another change appended meanwhile: read it and try again.
    { contentType: 'application/x-ndjson', attempts: 20 },
  );
}

function parseHistory(text: string): ServingChange[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        const c = JSON.parse(line) as ServingChange;
        return c && typeof c.to === 'string' && typeof c.pointerGeneration === 'string' ? [c] : [];
      } catch {
        return [];
      }
    });
}
