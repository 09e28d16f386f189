/**
 * @module logger
 * Structured log events: one JSON line per step on stdout, in the shape Cloud Logging ingests
 * from Cloud Functions (`severity`, `message`, the rest lands in jsonPayload). Every event
 * carries `runId`, `model` and `stage`, so `jsonPayload.runId="…"` follows one run.
 */
import { setting } from '@bucketml/contracts';
import { destination as pinoDestination, pino, type Logger as PinoLogger } from 'pino';

export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR';

export interface StepFields {
  runId?: string;
  model?: string;
  stage?: string;
  [figure: string]: unknown;
}

export interface Logger {
  event(severity: Severity, message: string, fields?: StepFields): void;
  child(fields: StepFields): Logger;
}

export function createLogger(component: string, destination?: NodeJS.WritableStream): Logger {
  const base = pino(
    {
      level: setting('BUCKETML_LOG_LEVEL')!.toLowerCase(),
      messageKey: 'message',
      base: { component },
      customLevels: { notice: 35, warning: 40 },
      formatters: {
        level: (label) => ({ severity: label === 'warn' ? 'WARNING' : label.toUpperCase() }),
      },
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
    },
    destination ?? pinoDestination({ dest: 1, sync: true }),
  );
  return bind(base, {});
}

function bind(p: PinoLogger<'notice' | 'warning'>, bound: StepFields): Logger {
  return {
    event(severity, message, fields = {}) {
      const all = { ...bound, ...fields };
      const method = severity.toLowerCase() as 'debug' | 'info' | 'notice' | 'warning' | 'error';
      p[method]({ ...all, 'logging.googleapis.com/labels': labels(all) }, message);
    },
    child(fields) {
      return bind(p, { ...bound, ...fields });
    },
  };
}

/** Labels are indexed by Cloud Logging: the run id and model go there too. */
function labels(fields: StepFields): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (typeof fields.runId === 'string') out.runId = fields.runId;
  if (typeof fields.model === 'string') out.model = fields.model;
  return Object.keys(out).length ? out : undefined;
}
