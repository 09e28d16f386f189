/**
 * @module @bucketml/tuning
 * The tuning engine: study specs in the course's and Vertex AI's forms, the search algorithms
 * (Bayesian, random, grid), early stopping, and the analysis of a study's trials. The local
 * training service runs studies with it; Vertex AI runs them from the converted spec.
 */
export * from './study-spec.js';
export { sampleRandom, fromUnit, type ParamValues } from './random-search.js';
export { analyzeTrials, formatReport, type StudyReport } from './analysis.js';
export {
  toVertexTuningJob,
  fromVertexTuningJob,
  DEFAULT_MACHINE_TYPE,
  type VertexTuningJobSpec,
  type VertexStudySpec,
  type VertexParameterSpec,
} from './vertex-spec.js';
export { parseStudyDocument } from './study-document.js';
export { suggestTrial, gridPoint, priorObservations, type SearchSpace } from './search.js';
export {
  addToStudyIndex,
  selectWarmStart,
  describeWarmStart,
  WARM_START_USE,
  type IndexedStudy,
  type StudyIndex,
} from './warm-start.js';
export { suggestBayesian, type Observation } from './bayesian.js';
export { shouldStopTrial, stoppingDecision, type StoppingOptions } from './early-stopping.js';
export { defaultStudyFor, studyForModel } from './default-study.js';
