export * from './study-spec.js';
export { sampleRandom, fromUnit, parameterFlags, type ParamValues } from './random-search.js';
export { analyzeTrials, formatReport, type StudyReport, type TrialResult } from './analysis.js';
