/**
 * @module layout
 * The bucket layout, as builders and parsers for every prefix. Every process that names a
 * bucket object (functions, the local training service, the Vertex backend, the CLI) builds it
 * here, so a path convention lives in one place:
 *
 *   data/<model>/*.csv                drops; a file whose *name* has eval/valid is evaluation data
 *   config/<model>/hyperparam.yaml    optional study spec; config/<model>/schema.json optional spec
 *   runs/<runId>/run.json             run state; spec.json (what it trains with), report.json, report.txt
 *   runs/<runId>/cancel.json          a request to cancel the run
 *   runs/<runId>/rejected-rows.csv    the drop's rows that could not be used, with the reasons
 *   runs/<runId>/data-report.json     the drop's statistics and drift against the serving model's data
 *   runs/<runId>/inputs/*.csv         the run's copies of its drop, at the generations it was created for
 *   runs/<runId>/inputs/split/{train,eval}/*.csv  a drop without evaluation files: its training
 *                                     copies' rows, 1 in HELD_OUT_EVERY held out for evaluation
 *   runs/<runId>/trials/<n>/          a trial's job output: model/, hypertune.metrics, train.log,
 *                                     tensorboard/ (its TensorBoard event file)
 *   runs/<runId>/final/               the final training's job output (same shape)
 *   runs/<runId>/index.html           the run page; page.json its data (rewritten at each step)
 *   models/<model>/<version>/         deployed models; models/<model>/serving.json the pointer
 *   models/<model>/index.html         the models page; page.json its data (the deployments)
 *   reports/<model>/data-report-trail.json  the last validated run (the drift reference while none serves)
 *   predict/<model>/<file>            batch inputs (<name>.csv with a header, or .jsonl JSON lines)
 *   predictions/<model>/<file>.jsonl  a batch input's answers, one line per row, in order;
 *                                     <file>.summary.json its summary (rows, errors, version)
 *   reports/<model>/studies.json      the model's finished studies: space, goal and trials (warm start)
 */
import { createHash } from 'node:crypto';

/** An object name's last segment. */
const fileName = (object: string) => object.slice(object.lastIndexOf('/') + 1);

/** Model names: also folder names, label values and URL path segments, so kept plain. */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export function isModelName(name: unknown): name is string {
  return typeof name === 'string' && MODEL_NAME.test(name);
}

/**
 * A training job's output directory, as Vertex AI's baseOutputDirectory: the trainer writes its
 * model to <dir>model/ (AIP_MODEL_DIR), a trial its metrics and log beside it.
 */
export const jobOutput = {
  modelDir: (dir: string) => `${dir}model/`,
  metricFile: (dir: string) => `${dir}hypertune.metrics`,
  trainLog: (dir: string) => `${dir}train.log`,
  /** TensorBoard event files, when the job has no AIP_TENSORBOARD_LOG_DIR. */
  tensorboardDir: (dir: string) => `${dir}tensorboard/`,
  /** The output directory of trial `trialId` of a study whose output directory is `studyDir`. */
  trialDir: (studyDir: string, trialId: string) => `${studyDir}${trialId}/`,
};

export const layout = {
  dataRoot: 'data/',
  dataPrefix: (model: string) => `data/${model}/`,
  hyperparamConfig: (model: string) => `config/${model}/hyperparam.yaml`,
  schemaConfig: (model: string) => `config/${model}/schema.json`,
  run: (runId: string) => `runs/${runId}/run.json`,
  runsRoot: 'runs/',
  /** The study's output directory: trial n writes under trials/<n>/. */
  trialsDir: (runId: string) => `runs/${runId}/trials/`,
  trialDir: (runId: string, trialId: string) =>
    jobOutput.trialDir(`runs/${runId}/trials/`, trialId),
  finalDir: (runId: string) => `runs/${runId}/final/`,
  /**
   * A run's copy of one dropped object (data/<model>/<file>), at the generation the run was
   * created for: trials, the final training and the gate read these, so a file overwritten
   * during the run cannot change the run's data.
   */
  runInput: (runId: string, object: string) => `runs/${runId}/inputs/${fileName(object)}`,
  /**
   * One part of a run's copy of a training object, for a drop without evaluation files: the
   * rows the split keeps for training, or those it holds out for evaluation (each with the
   * header).
   */
  runSplitPart: (runId: string, object: string, part: 'train' | 'eval') =>
    `runs/${runId}/inputs/split/${part}/${fileName(object)}`,
  /** The spec the run trains with (snapshot of the config, or inferred from the drop). */
  runSpec: (runId: string) => `runs/${runId}/spec.json`,
  /**
   * A request to cancel the run (`bucketml cancel` writes it): data-upload, triggered by it,
   * cancels the run's job and fails the run; being an object, it outlives any restart.
   */
  cancelRequest: (runId: string) => `runs/${runId}/cancel.json`,
  /** The drop's statistics, their distances to the serving model's data, and the verdict. */
  dataReport: (runId: string) => `runs/${runId}/data-report.json`,
  /** The drop's rejected rows: source object, line, reason and the raw row (bounded). */
  rejectedRows: (runId: string) => `runs/${runId}/rejected-rows.csv`,
  report: (runId: string) => `runs/${runId}/report.json`,
  reportText: (runId: string) => `runs/${runId}/report.txt`,
  /** The run page: self-contained HTML that polls its data (runPageData) while the run goes. */
  runPage: (runId: string) => `runs/${runId}/index.html`,
  /** The run page's data (RunPageData), rewritten by the stages at each step. */
  runPageData: (runId: string) => `runs/${runId}/page.json`,
  /** A trial's hypertune metric file: one line per reported evaluation (its learning curve). */
  trialMetricFile: (runId: string, trialId: string) =>
    jobOutput.metricFile(layout.trialDir(runId, trialId)),
  modelsRoot: 'models/',
  modelVersionPrefix: (model: string, version: string) => `models/${model}/${version}/`,
  servingPointer: (model: string) => `models/${model}/serving.json`,
  /**
   * Every change of the serving pointer (ServingChange, one JSON line each, oldest first):
   * deployments and rollbacks, appended once per pointer generation.
   */
  servingHistory: (model: string) => `models/${model}/history.jsonl`,
  /** The models page: the model's deployed versions, their figures and when each served. */
  modelsPage: (model: string) => `models/${model}/index.html`,
  /** The models page's data (ModelsPageData), appended to by each deployment. */
  modelsPageData: (model: string) => `models/${model}/page.json`,
  /**
   * The model's last validated run ({runId}): while no model serves, a drop's data is
   * compared with that run's.
   */
  dataReportTrail: (model: string) => `reports/${model}/data-report-trail.json`,
  /** Batch inputs for the model's serving version (predictions/, where answers go, is apart). */
  batchInputPrefix: (model: string) => `predict/${model}/`,
  batchInputRoot: 'predict/',
  /**
   * A batch input's answers: predict/<model>/<file> → predictions/<model>/<file>.jsonl. The
   * input's extension stays in the name, so two inputs never share outputs.
   */
  batchPredictions: (model: string, file: string) =>
    `predictions/${model}/${batchOutputStem(file)}.jsonl`,
  /** A batch job's summary, written after its answers: its presence marks the job done. */
  batchSummary: (model: string, file: string) =>
    `predictions/${model}/${batchOutputStem(file)}.summary.json`,
  /**
   * The model's finished studies (StudyIndex): each run's parameter space, metric, goal and
   * best trials, appended when its study is analysed; a new run's study is warm-started from it.
   */
  studyIndex: (model: string) => `reports/${model}/studies.json`,
};

const NAME = MODEL_NAME.source.slice(1, -1); // without its anchors
const DROP = new RegExp(`^data/(${NAME})/([^/]+\\.csv)$`, 'i');
const SERVING_POINTER = new RegExp(`^models/(${NAME})/serving\\.json$`);
const CANCEL_REQUEST = new RegExp(`^runs/((?:${NAME})-[0-9a-f]{12})/cancel\\.json$`);

const BATCH_INPUT = new RegExp(`^predict/(${NAME})/([^/]+)\\.(csv|jsonl|ndjson|json)$`, 'i');

/**
 * A batch input (predict/<model>/<name>.csv, or .jsonl/.ndjson/.json for JSON lines): its model,
 * its file name with the extension (what its outputs are named by) and its format; null otherwise.
 */
export function parseBatchInputName(
  object: string,
): { model: string; file: string; format: 'csv' | 'jsonl' } | null {
  const m = BATCH_INPUT.exec(object);
  if (!m) return null;
  return {
    model: m[1],
    file: `${m[2]}.${m[3]}`,
    format: m[3].toLowerCase() === 'csv' ? 'csv' : 'jsonl',
  };
}

/**
 * The longest output stem, in UTF-8 bytes: with ".summary.json" and a directory bucket's lock
 * (".<name>.lock") it stays within a 255-byte file name, and far within 1024 bytes on GCS.
 */
const MAX_OUTPUT_STEM_BYTES = 200;

/**
 * A batch input's file name as its outputs' stem: itself, or when longer than
 * MAX_OUTPUT_STEM_BYTES its head, "~" and a hash of the whole name: an input name that fits the
 * bucket would otherwise give output names that do not.
 */
function batchOutputStem(file: string): string {
  if (Buffer.byteLength(file) <= MAX_OUTPUT_STEM_BYTES) return file;
  const hash = createHash('sha256').update(file).digest('hex').slice(0, 16);
  let head = '';
  for (const ch of file) {
    if (Buffer.byteLength(head + ch) > MAX_OUTPUT_STEM_BYTES - hash.length - 1) break;
    head += ch;
  }
  return `${head}~${hash}`;
}

/** The run a cancel request (runs/<runId>/cancel.json) is for, or null. */
export function parseCancelRequestName(name: string): string | null {
  return CANCEL_REQUEST.exec(name)?.[1] ?? null;
}

/** The model a dropped object belongs to, or null when the object is not a drop. */
export function parseDropName(name: string): { model: string; file: string } | null {
  const m = DROP.exec(name);
  return m ? { model: m[1], file: m[2] } : null;
}

/** The objects of a listing of data/<model>/ that belong to the model's drop (its run's data). */
export function dropObjects<T extends { name: string }>(model: string, listing: T[]): T[] {
  return listing.filter((o) => parseDropName(o.name)?.model === model);
}

/**
 * Evaluation files are named so (the course's eval.csv, taxi-valid.csv); all others train.
 * Only the file name counts: a model folder called "medieval" holds training data too.
 */
export function isEvalFile(name: string): boolean {
  return /eval|valid/i.test(name.slice(name.lastIndexOf('/') + 1));
}

/** A gs:// URI's bucket and object name (Vertex reports output directories as URIs). */
export function parseGsUri(uri: string): { bucket: string; name: string } | null {
  const m = /^gs:\/\/([^/]+)\/(.*)$/.exec(uri);
  return m ? { bucket: m[1], name: m[2] } : null;
}

/** The model whose serving pointer this object is, or null. */
export function parseServingPointerName(name: string): string | null {
  return SERVING_POINTER.exec(name)?.[1] ?? null;
}
