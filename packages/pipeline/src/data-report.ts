/**
 * @module data-report
 * runs/<runId>/data-report.json: the rows of a drop (read, used, rejected per reason), each
 * column's statistics, and their distances to the data the serving model was trained on (the
 * serving run's own data report, or the statistics an inferred spec keeps inside the model),
 * with the verdict. A drift is a WARNING, not a stop: the gate decides on the numbers.
 */
import { layout, parseRunId } from '@bucketml/contracts';
import {
  compareWithReference,
  DataProfiler,
  rawColumns,
  type ColumnStatistics,
  type DriftReport,
  type ModelSpec,
} from '@bucketml/model';
import type { Logger } from './logger.js';
import type { PipelineContext } from './context.js';

export interface DataReport {
  runId: string;
  rows: { read: number; used: number; rejected: number; rejectedByReason: Record<string, number> };
  columns: ColumnStatistics[];
  reference: { version: string; source: string } | null;
  drift: DriftReport | null;
  /** blocked: a feature the spec marks blocking drifted, and the run fails. */
  verdict: 'no reference' | 'no drift' | 'drift' | 'blocked';
}

/** A profiler of the columns the spec reads, for the training files' ReadOptions.onRecord. */
export function profilerFor(spec: ModelSpec): DataProfiler {
  return new DataProfiler(rawColumns(spec));
}

/** Compares, writes the report and logs a WARNING naming the features past their threshold. */
export async function writeDataReport(
  ctx: PipelineContext,
  runId: string,
  model: string,
  spec: ModelSpec,
  profiler: DataProfiler,
  rows: DataReport['rows'],
  log: Logger,
): Promise<DataReport> {
  const roles: Record<string, ColumnStatistics['role']> = { [spec.label.name]: 'label' };
  if (spec.key) roles[spec.key] = 'key';
  for (const c of spec.numeric) roles[c.name] = 'numeric';
  for (const c of spec.categorical) roles[c.name] = 'categorical';
  for (const d of spec.dates) roles[d.name] = 'date';
  const found = await referenceStatistics(ctx, model);
  const drift = found ? compareWithReference(profiler, found.columns, spec.validation) : null;
  const report: DataReport = {
    runId,
    rows,
    columns: profiler.statistics(roles),
    reference: found ? { version: found.version, source: found.source } : null,
    drift,
    verdict: !drift
      ? 'no reference'
      : drift.blocking.length
        ? 'blocked'
        : drift.drifted.length
          ? 'drift'
          : 'no drift',
  };
  await ctx.storage.write(layout.dataReport(runId), JSON.stringify(report, null, 2));
  if (drift?.drifted.length) {
    const figures = drift.features
      .filter((f) => f.drifted)
      .map((f) => `${f.name} (${f.metric} ${f.distance} > ${f.threshold})`);
    const lacking = drift.missingColumns.map((c) => `${c} (missing)`);
    log.event(
      'WARNING',
      `data drift against version ${found!.version}: ${[...figures, ...lacking].join(', ')}`,
      {
        report: layout.dataReport(runId),
        drifted: drift.drifted,
        referenceVersion: found!.version,
      },
    );
  }
  return report;
}

/** The serving version's data statistics: its run's data report, else its inferred spec's. */
async function referenceStatistics(
  ctx: PipelineContext,
  model: string,
): Promise<{ version: string; source: string; columns: ColumnStatistics[] } | null> {
  const pointer = await ctx.storage.read(layout.servingPointer(model));
  if (!pointer) return null;
  const version = (JSON.parse(pointer.data.toString('utf8')) as { version?: unknown }).version;
  if (typeof version !== 'string' || !parseRunId(version)) return null;
  const ownReport = await ctx.storage.read(layout.dataReport(version)).catch(() => null);
  if (ownReport) {
    const columns = (JSON.parse(ownReport.data.toString('utf8')) as DataReport).columns;
    if (Array.isArray(columns)) return { version, source: layout.dataReport(version), columns };
  }
  const modelJson = `${layout.modelVersionPrefix(model, version)}model.json`;
  const meta = await ctx.storage.read(modelJson).catch(() => null);
  const inferred = meta
    ? (JSON.parse(meta.data.toString('utf8')) as { spec?: ModelSpec }).spec?.inferred
    : undefined;
  return inferred ? { version, source: modelJson, columns: inferred.columns } : null;
}
