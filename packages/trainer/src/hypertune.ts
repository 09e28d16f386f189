/**
 * @module hypertune
 * Reports tuning metrics to `CLOUD_ML_HP_METRIC_FILE` exactly as Google's hypertune library does.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The metric file Vertex AI's hypertune library writes and Vertex reads for tuning trials. */
const DEFAULT_METRIC_FILE = '/tmp/hypertune/output.metrics';
/** Entries kept, the newest, as the library keeps them (a classifier writes 3 per evaluation). */
const MAX_ENTRIES = 100;

/**
 * Reports tuning metrics exactly as Google's `cloudml-hypertune` Python library does: each report
 * rewrites `CLOUD_ML_HP_METRIC_FILE` with the last 100 entries, one JSON object per line, keys
 * sorted, values as Python's str(): {"global_step": "1000", "rmse": "1.05", "timestamp": …, "trial": "0"}.
 */
export class HypertuneReporter {
  private readonly entries: string[] = [];

  constructor(
    readonly metricFile = process.env.CLOUD_ML_HP_METRIC_FILE ?? DEFAULT_METRIC_FILE,
    readonly trialId = process.env.CLOUD_ML_TRIAL_ID ?? '0',
  ) {}

  /** Reports only when Vertex (or the local backend) asked for metrics by setting the variable. */
  static fromEnv(): HypertuneReporter | null {
    return process.env.CLOUD_ML_HP_METRIC_FILE ? new HypertuneReporter() : null;
  }

  report(tag: string, value: number, globalStep?: number): void {
    this.reportAll({ [tag]: value }, globalStep);
  }

  /** One entry per metric tag (as several report_hyperparameter_tuning_metric calls write). */
  reportAll(values: Record<string, number>, globalStep?: number): void {
    for (const [tag, value] of Object.entries(values))
      this.entries.push(this.entry(tag, value, globalStep));
    while (this.entries.length > MAX_ENTRIES) this.entries.shift();
    mkdirSync(dirname(this.metricFile), { recursive: true });
    // Written aside and renamed into place: a reader, or a SIGTERM from early stopping or
    // preemption at any instant, sees the previous file or the new one, never a truncated one.
    const tmp = `${this.metricFile}.${process.pid}.tmp`;
    writeFileSync(tmp, this.entries.map((e) => e + '\n').join(''));
    renameSync(tmp, this.metricFile);
  }

  private entry(tag: string, value: number, globalStep?: number): string {
    const body: Record<string, string | number> = {
      timestamp: Date.now() / 1000,
      trial: String(this.trialId),
      [tag]: pythonFloatStr(value),
      global_step: String(globalStep ? Math.trunc(globalStep) : 0),
    };
    const sorted = Object.keys(body)
      .sort()
      .map((k) => `${JSON.stringify(k)}: ${JSON.stringify(body[k])}`);
    return `{${sorted.join(', ')}}`;
  }
}

/** Python's str(float): shortest round-trip digits, fixed notation for 1e-4 <= |x| < 1e16. */
export function pythonFloatStr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 ? '-' : '';
  const [mantissa, expText] = Math.abs(x).toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 16)
    return `${sign}${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  const digits = mantissa.replace('.', '');
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  return `${sign}${digits.slice(0, exp + 1).padEnd(exp + 1, '0')}.${digits.slice(exp + 1) || '0'}`;
}
