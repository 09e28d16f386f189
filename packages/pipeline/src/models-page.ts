/**
 * @module models-page
 * models/<model>/page.json and models/<model>/index.html: every deployment of the model with its
 * figures, and which version serves. The deploy stage records a deployment once it has switched
 * the serving pointer; the record is keyed by version, so a redelivery changes nothing but the
 * revision. A page that cannot be written is a WARNING.
 */
import {
  layout,
  PAGE_DATA_FORMAT,
  parsePageData,
  type ModelDeployment,
  type ModelsPageData,
} from '@bucketml/contracts';
import { modelsPageHtml } from '@bucketml/pages';
import type { PipelineContext } from './context.js';
import type { Logger } from './logger.js';
import { writePageData, writePageHtml } from './page-writes.js';
import { readServingPointer } from './serving-pointer.js';

/** Adds a deployment to the model's page (once per version) and rewrites the page. */
export async function recordDeployment(
  ctx: PipelineContext,
  model: string,
  deployment: ModelDeployment,
  log: Logger,
): Promise<void> {
  try {
    const serving = (await readServingPointer(ctx.storage, model))?.pointer.version;
    const data = await writePageData<ModelsPageData>(
      ctx.storage,
      layout.modelsPageData(model),
      async (previousText) => {
        const previous = parsePageData<ModelsPageData>(previousText ?? '');
        const others = (previous?.deployments ?? []).filter(
          (d) => d.version !== deployment.version,
        );
        const kept = previous?.deployments.find((d) => d.version === deployment.version);
        return {
          format: PAGE_DATA_FORMAT,
          revision: (previous?.revision ?? 0) + 1,
          generatedAt: new Date().toISOString(),
          model,
          ...(serving ? { serving } : {}),
          // The first record of a version stands (its deployment time is the first one's).
          deployments: [...others, kept ?? deployment].sort((a, b) =>
            a.deployedAt.localeCompare(b.deployedAt),
          ),
        };
      },
    );
    if (data)
      await writePageHtml(
        ctx.storage,
        layout.modelsPage(model),
        modelsPageHtml(data),
        data.revision,
      );
  } catch (err) {
    log.event('WARNING', `models page not updated: ${(err as Error).message}`, {
      page: layout.modelsPage(model),
    });
  }
}
