/**
 * @module spec-document
 * Where a model's spec comes from, decided the same way by the trainer (`--model NAME|FILE`)
 * and the pipeline (a model name, then config/<model>/schema.json): a built-in model's name
 * wins; anything else is a JSON spec document, parsed with errors that name its source.
 */
import { BUILTIN_SPECS } from './builtin-specs.js';
import { parseSpec, SpecError, type ModelSpec } from './spec.js';

export function builtinSpec(name: string): ModelSpec | undefined {
  return Object.hasOwn(BUILTIN_SPECS, name) ? BUILTIN_SPECS[name] : undefined;
}

export const BUILTIN_MODEL_NAMES = Object.keys(BUILTIN_SPECS);

/** A spec document's text as a spec; `source` names it in every error. */
export function specFromDocument(text: string, source: string): ModelSpec {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SpecError([`${source} is not valid JSON: ${(err as Error).message}`]);
  }
  return parseSpec(json);
}
