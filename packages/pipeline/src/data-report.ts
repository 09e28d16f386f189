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
  type ColumnStatistics,
  type DriftReport,
  type ModelSpec,
  type ProfiledKind,
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

/** A profiler of the columns the model learns from and of its label, as the spec types them. */
export function profilerFor(spec: ModelSpec): DataProfiler {
  const kinds: Record<string, ProfiledKind> = {
    [spec.label.name]: spec.label.classes ? 'categorical' : 'numeric',
  };
  for (const c of spec.numeric) kinds[c.name] = 'numeric';
  for (const c of spec.categorical) kinds[c.name] = 'categorical';
  return new DataProfiler(kinds);
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
  for (const c of spec.numeric) roles[c.name] = 'numeric';
  for (const c of spec.categorical) roles[c.name] = 'categorical';
  const found = await referenceStatistics(ctx, model, log);
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
    const figures = [
      ...drift.features.filter((f) => f.drifted).map((f) => `${f.name} (${f.reasons.join('; ')})`),
      ...drift.missingColumns.map((c) => `${c} (empty)`),
    ];
    const shown = figures.slice(0, MAX_NAMED);
    log.event(
      'WARNING',
      `data drift against version ${found!.version}: ${shown.join(', ')}${figures.length > shown.length ? `, and ${figures.length - shown.length} more` : ''}`,
      {
        report: layout.dataReport(runId),
        drifted: drift.drifted.slice(0, MAX_NAMED),
        referenceVersion: found!.version,
      },
    );
  }
  return report;
}

/** Features named in one event (the report lists them all). */
const MAX_NAMED = 20;
/** The most a reference object may weigh to be read (a report of many columns is far less). */
const MAX_REFERENCE_BYTES = 20_000_000;

/**
 * The serving version's data statistics: its run's data report, else its inferred spec's.
 * Read errors throw (the event is retried); an unreadable or malformed reference is a WARNING
 * and no reference, never a run stuck on it.
 */
async function referenceStatistics(
  ctx: PipelineContext,
  model: string,
  log: Logger,
): Promise<{ version: string; source: string; columns: unknown[] } | null> {
  const readJson = async (name: string): Promise<Record<string, unknown> | null> => {
    const info = await ctx.storage.stat(name);
    if (!info) return null;
    if (info.size > MAX_REFERENCE_BYTES) {
      log.event(
        'WARNING',
        `data report: ${name} is too large to compare with (${info.size} bytes)`,
      );
      return null;
    }
    const obj = await ctx.storage.read(name);
    try {
      const value: unknown = obj ? JSON.parse(obj.data.toString('utf8')) : null;
      return typeof value === 'object' && value !== null
        ? (value as Record<string, unknown>)
        : null;
    } catch {
      log.event('WARNING', `data report: ${name} is not JSON; the drop is not compared`);
      return null;
    }
  };
  const pointer = await readJson(layout.servingPointer(model));
  const version = pointer?.version;
  if (typeof version !== 'string' || parseRunId(version)?.model !== model) return null;
  const ownReport = await readJson(layout.dataReport(version));
  if (ownReport && Array.isArray(ownReport.columns))
    return { version, source: layout.dataReport(version), columns: ownReport.columns };
  const modelJson = `${layout.modelVersionPrefix(model, version)}model.json`;
  const meta = await readJson(modelJson);
  const columns = (meta?.spec as { inferred?: { columns?: unknown } } | undefined)?.inferred
    ?.columns;
  return Array.isArray(columns) ? { version, source: modelJson, columns } : null;
}
