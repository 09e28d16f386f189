/**
 * @module data-report
 * runs/<runId>/data-report.json: the rows of a drop (read, used, rejected per reason), each
 * column's statistics, and their distances to the data the serving model was trained on (the
 * serving run's own data report, or the statistics an inferred spec keeps inside the model;
 * when no model serves, the previous validated run's report), with the verdict. A drift is a
 * WARNING, not a stop: the gate decides on the numbers.
 */
import { layout, parseRunId } from '@bucketml/contracts';
import {
  compareWithReference,
  DataProfiler,
  FeatureEncoder,
  scanDataset,
  type BadRow,
  type ColumnStatistics,
  type DatasetSummary,
  type DataSource,
  type DriftReport,
  type ModelSpec,
  type ProfiledKind,
} from '@bucketml/model';
import type { Logger } from './logger.js';
import type { PipelineContext } from './context.js';

export interface DataReport {
  runId: string;
  rows: { read: number; used: number; rejected: number; rejectedByReason: Record<string, number> };
  /** The drop's header as read (null: a headerless spec), for the next report's new columns. */
  header: string[] | null;
  columns: ColumnStatistics[];
  /** What the drop was compared with: the serving version's data, or the previous run's. */
  reference: { version: string; source: string; as: 'serving' | 'previous run' } | null;
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

/**
 * Data-upload's one pass over a drop: every row checked and encoded as training will, the
 * training rows profiled, nothing kept per row (memory stays flat whatever the drop's size).
 */
export async function validateDrop(
  spec: ModelSpec,
  train: DataSource[],
  evalSources: DataSource[],
  onBadRow?: (row: BadRow, fields: string[]) => void,
): Promise<{ train: DatasetSummary; eval: DatasetSummary; profiler: DataProfiler }> {
  const encoder = new FeatureEncoder(spec);
  const profiler = profilerFor(spec);
  return {
    train: await scanDataset(train, encoder, { onBadRow, onRecord: profiler.add }),
    eval: await scanDataset(evalSources, encoder, { onBadRow }),
    profiler,
  };
}

/** Compares, writes the report and logs a WARNING naming the features past their threshold. */
export async function writeDataReport(
  ctx: PipelineContext,
  runId: string,
  model: string,
  spec: ModelSpec,
  drop: { profiler: DataProfiler; header: string[] | null },
  rows: DataReport['rows'],
  log: Logger,
): Promise<DataReport> {
  const { profiler } = drop;
  const roles: Record<string, ColumnStatistics['role']> = { [spec.label.name]: 'label' };
  for (const c of spec.numeric) roles[c.name] = 'numeric';
  for (const c of spec.categorical) roles[c.name] = 'categorical';
  // A redelivery compares with what the first delivery compared with (a run validated since
  // must not become this one's "previous run").
  const earlier = await readJson(ctx, layout.dataReport(runId), log);
  const earlierReference = earlier?.reference as { version?: unknown; as?: unknown } | null;
  const found =
    (await servingStatistics(ctx, model, log)) ??
    (earlier
      ? earlierReference?.as === 'previous run' && typeof earlierReference.version === 'string'
        ? await runStatistics(ctx, earlierReference.version, log)
        : null
      : await previousRunStatistics(ctx, runId, log));
  const drift = found
    ? compareWithReference(profiler, found.columns, spec.validation, drop.header, found.header)
    : null;
  // Blocking is judged against what serves: a previous run that never deployed cannot block
  // the drop that fixes it (its drift is a warning, and the gate decides).
  if (drift && found?.as !== 'serving') drift.blocking = [];
  const report: DataReport = {
    runId,
    rows,
    header: drop.header,
    columns: profiler.statistics(roles),
    reference: found ? { version: found.version, source: found.source, as: found.as } : null,
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
  // A validated drop is the next run's reference while no model serves (a blocked one is not:
  // its data would excuse the same drift dropped again).
  if (!earlier && report.verdict !== 'blocked')
    await ctx.storage.write(layout.dataReportTrail(model), JSON.stringify({ runId }));
  if (drift?.drifted.length) {
    const absent = new Set(drift.missingColumns);
    const figures = [
      ...drift.features.filter((f) => f.drifted).map((f) => `${f.name} (${f.reasons.join('; ')})`),
      ...drift.missingColumns.map(
        (c) =>
          `${c} (${drop.header && !drop.header.some((h) => h.toLowerCase() === c.toLowerCase()) ? 'column gone' : 'empty'})`,
      ),
      ...drift.newColumns.filter((c) => !absent.has(c)).map((c) => `${c} (new column)`),
    ];
    const shown = figures.slice(0, MAX_NAMED);
    const against = found!.as === 'serving' ? 'version' : 'the previous run';
    log.event(
      'WARNING',
      `data drift against ${against} ${found!.version}: ${shown.join(', ')}${figures.length > shown.length ? `, and ${figures.length - shown.length} more` : ''}`,
      {
        report: layout.dataReport(runId),
        drifted: drift.drifted.slice(0, MAX_NAMED),
        reference: found!.version,
        referenceIs: found!.as,
      },
    );
  }
  return report;
}

/** Features named in one event (the report lists them all). */
const MAX_NAMED = 20;
/** The most a reference object may weigh to be read (a report of many columns is far less). */
const MAX_REFERENCE_BYTES = 20_000_000;

interface Reference {
  version: string;
  source: string;
  as: 'serving' | 'previous run';
  columns: unknown[];
  /** The reference's header, when its report kept it. */
  header?: string[];
}

const headerOf = (report: Record<string, unknown> | null) =>
  Array.isArray(report?.header) && report.header.every((h) => typeof h === 'string')
    ? { header: report.header as string[] }
    : {};

/**
 * A bucket object as a JSON object, or null. Read errors throw (the event is retried); an
 * unreadable or malformed reference is a WARNING and no reference, never a run stuck on it.
 */
async function readJson(
  ctx: PipelineContext,
  name: string,
  log: Logger,
): Promise<Record<string, unknown> | null> {
  const info = await ctx.storage.stat(name);
  if (!info) return null;
  if (info.size > MAX_REFERENCE_BYTES) {
    log.event('WARNING', `data report: ${name} is too large to compare with (${info.size} bytes)`);
    return null;
  }
  const obj = await ctx.storage.read(name);
  try {
    const value: unknown = obj ? JSON.parse(obj.data.toString('utf8')) : null;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    log.event('WARNING', `data report: ${name} is not JSON; the drop is not compared`);
    return null;
  }
}

/** The serving version's data statistics: its run's data report, else its inferred spec's. */
async function servingStatistics(
  ctx: PipelineContext,
  model: string,
  log: Logger,
): Promise<Reference | null> {
  const pointer = await readJson(ctx, layout.servingPointer(model), log);
  const version = pointer?.version;
  if (typeof version !== 'string' || parseRunId(version)?.model !== model) return null;
  const ownReport = await runStatistics(ctx, version, log);
  if (ownReport) return { ...ownReport, as: 'serving' };
  const modelJson = `${layout.modelVersionPrefix(model, version)}model.json`;
  const meta = await readJson(ctx, modelJson, log);
  const columns = (meta?.spec as { inferred?: { columns?: unknown } } | undefined)?.inferred
    ?.columns;
  return Array.isArray(columns) ? { version, source: modelJson, as: 'serving', columns } : null;
}

/** The data report of the model's last validated run (the trail names it), if any. */
async function previousRunStatistics(
  ctx: PipelineContext,
  runId: string,
  log: Logger,
): Promise<Reference | null> {
  const model = parseRunId(runId)!.model;
  const trail = await readJson(ctx, layout.dataReportTrail(model), log);
  const previous = trail?.runId;
  if (typeof previous !== 'string' || previous === runId || parseRunId(previous)?.model !== model)
    return null;
  return runStatistics(ctx, previous, log);
}

/** A run's own data report as a reference (as a previous run's; the serving run's too). */
async function runStatistics(
  ctx: PipelineContext,
  runId: string,
  log: Logger,
): Promise<Reference | null> {
  const report = await readJson(ctx, layout.dataReport(runId), log);
  return report && Array.isArray(report.columns)
    ? {
        version: runId,
        source: layout.dataReport(runId),
        as: 'previous run',
        columns: report.columns,
        ...headerOf(report),
      }
    : null;
}
