/**
 * @module serving-history
 * models/<model>/history.jsonl: every change of the serving pointer, one line each. A change is
 * recorded after its compare-and-swap on serving.json, under the generation that write made:
 * the stage that swapped records it (and its redelivery, after a crash between the two, records
 * it then), and a second record of the same generation is a no-op, so each pointer write has
 * exactly one line. Appends are compare-and-swaps on the history's own generation.
 */
import { layout, type ServingChange } from '@bucketml/contracts';
import { PreconditionFailedError, type Storage } from '@bucketml/ports';

/** The history, oldest first (unparseable lines are skipped: they cannot be acted on). */
export async function readServingHistory(
  storage: Storage,
  model: string,
): Promise<ServingChange[]> {
  const obj = await storage.read(layout.servingHistory(model));
  return obj ? parseHistory(obj.data.toString('utf8')) : [];
}

/** Appends `change` unless its pointer generation is recorded already. */
export async function recordServingChange(storage: Storage, change: ServingChange): Promise<void> {
  const name = layout.servingHistory(change.model);
  for (let attempt = 0; ; attempt++) {
    const obj = await storage.read(name);
    const text = obj?.data.toString('utf8') ?? '';
    if (parseHistory(text).some((c) => c.pointerGeneration === change.pointerGeneration)) return;
    const lead = text === '' || text.endsWith('\n') ? text : `${text}\n`;
    try {
      await storage.write(name, `${lead}${JSON.stringify(change)}\n`, {
        ifGenerationMatch: obj?.generation ?? '0',
        contentType: 'application/x-ndjson',
      });
      return;
    } catch (err) {
      // Another change was appended meanwhile: read it and try again.
      if (!(err instanceof PreconditionFailedError) || attempt >= 20) throw err;
    }
  }
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
