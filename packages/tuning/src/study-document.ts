/**
 * @module study-document
 * config/<model>/hyperparam.yaml as a study spec, whichever form it is written in.
 */
import { parse as parseYaml } from 'yaml';
import { parseCourseSpec, StudySpecError, type StudySpec } from './study-spec.js';
import { fromVertexTuningJob } from './vertex-spec.js';

/**
 * A study document in either form, YAML or JSON: the course's hyperparam.yaml
 * (`trainingInput: …`) or Vertex AI's tuning job (`studySpec: …`, with maxTrialCount etc.).
 */
export function parseStudyDocument(text: string): StudySpec {
  let doc: unknown;
  try {
    // YAML 1.1 booleans (True/False) as the course writes them.
    doc = parseYaml(text, { version: '1.1' });
  } catch (err) {
    throw new StudySpecError([`not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  if (doc && typeof doc === 'object' && 'studySpec' in doc) return fromVertexTuningJob(doc);
  if (doc && typeof doc === 'object' && 'trainingInput' in doc) return parseCourseSpec(doc);
  throw new StudySpecError([
    'expected the course form (trainingInput: …) or Vertex AI form (studySpec: …)',
  ]);
}
