/**
 * The bucket layout (docs/architecture.md):
 *   data/<model>/*.csv                drops; names containing eval/valid are evaluation data
 *   config/<model>/hyperparam.yaml    optional study spec; config/<model>/schema.json optional model spec
 *   runs/<runId>/run.json             run state; trials/, final/, report.json, report.txt
 *   models/<model>/<version>/         deployed models; models/<model>/serving.json the pointer
 */
export const layout = {
  dataPrefix: (model: string) => `data/${model}/`,
  hyperparamConfig: (model: string) => `config/${model}/hyperparam.yaml`,
  schemaConfig: (model: string) => `config/${model}/schema.json`,
  run: (runId: string) => `runs/${runId}/run.json`,
  trialsPrefix: (runId: string) => `runs/${runId}/trials/`,
  finalModelPrefix: (runId: string) => `runs/${runId}/final/model/`,
  report: (runId: string) => `runs/${runId}/report.json`,
  reportText: (runId: string) => `runs/${runId}/report.txt`,
  modelVersionPrefix: (model: string, version: string) => `models/${model}/${version}/`,
  servingPointer: (model: string) => `models/${model}/serving.json`,
};

const DROP = /^data\/([A-Za-z0-9][A-Za-z0-9_-]{0,62})\/([^/]+\.csv)$/i;

/** The model a dropped object belongs to, or null when the object is not a drop. */
export function parseDropName(name: string): { model: string; file: string } | null {
  const m = DROP.exec(name);
  return m ? { model: m[1], file: m[2] } : null;
}

/** Evaluation files are named so (the course's eval.csv, taxi-valid.csv); all others train. */
export function isEvalFile(file: string): boolean {
  return /eval|valid/i.test(file);
}
