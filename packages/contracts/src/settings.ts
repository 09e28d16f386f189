/**
 * @module settings
 * Every BUCKETML_* environment setting, with its default and what it is for: the one options
 * registry. Code reads settings through `setting()`, so a name or default is written once; the
 * README's table is this list.
 */
/** One setting: its default (when it has one) and what it is for. */
export interface SettingDefinition {
  default?: string;
  doc: string;
}

export const SETTINGS = {
  BUCKETML_BUCKET: { doc: 'the bucket: a directory (the embedded default) or gs://<bucket>' },
  BUCKETML_TRAINING_URL: {
    doc: 'the local training service; unset → Vertex AI (needs the BUCKETML_REGION / BUCKETML_TRAINER_* settings)',
  },
  BUCKETML_REGION: { doc: 'Vertex AI region, e.g. us-central1' },
  BUCKETML_TRAINER_IMAGE: { doc: 'the trainer container image Vertex AI runs' },
  BUCKETML_TRAINER_SERVICE_ACCOUNT: { doc: 'service account Vertex AI jobs run as' },
  BUCKETML_MACHINE_TYPE: {
    doc: 'Vertex AI machine type for trials and final trainings (default: from the study scale tier)',
  },
  BUCKETML_SETTLE_MS: {
    default: '3000',
    doc: 'quiet time (ms) a drop folder must keep before it becomes one run',
  },
  BUCKETML_SEED: {
    default: '42',
    doc: 'seed for studies and final trainings: a data version always trains the same way',
  },
  BUCKETML_REVALIDATE_MS: {
    default: '1000',
    doc: 'predict: how often (ms, at most) the serving pointer is re-read',
  },
  BUCKETML_LOG_LEVEL: {
    default: 'debug',
    doc: 'lowest severity logged: debug, info, notice, warning, error',
  },
  BUCKETML_GCS_FUSE_ROOT: {
    default: '/gcs',
    doc: "trainer: where Vertex AI's Cloud Storage FUSE mount is (gs://B/x is read as <root>/B/x)",
  },
  BUCKETML_TF_BACKEND: {
    doc: 'trainer: what trains — tensorflow (tfjs-node), fused (the typed-array trainer), or the TensorFlow.js reference on wasm or cpu; default: tfjs-node when it loads, else fused',
  },
  BUCKETML_PUBSUB_EMULATOR: {
    doc: "local stack: path of the Pub/Sub emulator's cloud-pubsub-emulator script (default: the gcloud SDK's)",
  },
  BUCKETML_CRASH_POINTS: {
    doc: 'tests only: comma-separated points at which a function SIGKILLs itself once (see docs/architecture.md)',
  },
  BUCKETML_CRASH_DIR: {
    doc: 'tests only: where crash-point markers are kept (one crash per point per stack)',
  },
  BUCKETML_DUPLICATE_PUBLISH: {
    default: '1',
    doc: 'tests only: publish every message this many times (at-least-once made visible)',
  },
  BUCKETML_TEST_GCS_BUCKET: {
    doc: 'tests only: run the storage contract against this Cloud Storage bucket',
  },
  BUCKETML_TEST_GCS_ENDPOINT: {
    doc: 'tests only: a JSON-API-compatible server for the GCS contract run (e.g. an emulator)',
  },
} as const satisfies Record<string, SettingDefinition>;

export type SettingName = keyof typeof SETTINGS;

/** The setting's value from `env`, else its default, else undefined. */
export function setting(
  name: SettingName,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const value = env[name];
  if (value !== undefined && value !== '') return value;
  return (SETTINGS[name] as SettingDefinition).default;
}

/** A numeric setting; a value that is not a number is a configuration error naming it. */
export function numericSetting(name: SettingName, env: NodeJS.ProcessEnv = process.env): number {
  const raw = setting(name, env);
  const n = Number(raw);
  if (raw === undefined || !Number.isFinite(n))
    throw new Error(`${name} must be a number (got ${JSON.stringify(raw)})`);
  return n;
}
