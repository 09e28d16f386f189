/**
 * @module cloud/plan
 * The deployment as an ordered list of gcloud commands, each safe to run again: resources are
 * created only if `describe` does not find them, IAM bindings and function deploys converge to
 * the same state, and nothing is ever deleted. `bucketml deploy` runs them; `--dry-run` prints
 * exactly these commands (formatPlan).
 */
import {
  DEAD_LETTER_SUBSCRIPTION,
  DELIVERY,
  FUNCTIONS,
  OBJECT_FINALIZED,
  pushSubscriptions,
  TOPICS,
  VERTEX_LOG_FILTER,
  VERTEX_SERVING,
  layout,
  type SettingName,
  type FunctionName,
} from '@bucketml/contracts';

export interface DeployOptions {
  project: string;
  region: string;
  bucket: string;
  /** Let anyone call predict (default: callers need an identity token with run.invoker). */
  public?: boolean;
  /** Trainer image; default <region>-docker.pkg.dev/<project>/bucketml/trainer:latest. */
  image?: string;
}

export interface Step {
  /** What the step is for, printed before it runs. */
  title: string;
  command: string;
}

const APIS = [
  'aiplatform',
  'artifactregistry',
  'cloudbuild',
  'cloudfunctions',
  'eventarc',
  'iam',
  'logging',
  'pubsub',
  'run',
  'storage',
];

/** Each function runs as its own service account, granted only what its stage touches. */
const ROLES: Record<FunctionName | 'trainer', { bucket: string; project: string[] }> = {
  'data-upload': { bucket: 'roles/storage.objectUser', project: ['roles/aiplatform.user'] },
  'job-completed': { bucket: 'roles/storage.objectUser', project: ['roles/aiplatform.user'] },
  deploy: { bucket: 'roles/storage.objectUser', project: [] },
  'vertex-events': { bucket: 'roles/storage.objectViewer', project: ['roles/aiplatform.viewer'] },
  predict: { bucket: 'roles/storage.objectViewer', project: [] },
  trainer: { bucket: 'roles/storage.objectUser', project: [] },
};
/** Who publishes to which topic: the function registry's own list. */
const PUBLISHERS: [FunctionName, string][] = FUNCTIONS.flatMap((f) =>
  f.publishes.map((t): [FunctionName, string] => [f.name, t]),
);
const SINK = 'bucketml-vertex-jobs';
const INVOKER = 'bucketml-invoker';
/** Where both plans stage the functions: the function deploys and the predict container read it. */
const STAGING_DIR = '.bucketml/functions';
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const ensure = (describe: string, create: string) => `${describe} >/dev/null 2>&1 || ${create}`;

/** The step that stages each function's self-contained source under STAGING_DIR. */
function stageFunctionsStep(): Step {
  return {
    title: 'stage each function as a self-contained source folder',
    command: `npx bucketml stage-functions --out=${STAGING_DIR}`,
  };
}

/** The step that makes the Artifact Registry repository the plan's image is pushed to. */
function imageRepositoryStep(o: { project: string; region: string }, title: string): Step {
  const p = `--project=${o.project}`;
  return {
    title,
    command: ensure(
      `gcloud artifacts repositories describe bucketml --location=${o.region} ${p}`,
      `gcloud artifacts repositories create bucketml --repository-format=docker --location=${o.region} ${p}`,
    ),
  };
}

/** Prints the plan as a bash script: exactly what a real deploy would run, in order. */
export function formatPlan(steps: Step[]): string {
  const lines = [
    '#!/usr/bin/env bash',
    '# bucketml deploy --dry-run: every step is idempotent; nothing is deleted.',
    'set -euo pipefail',
    '',
  ];
  steps.forEach((s, i) => lines.push(`# ${i + 1}/${steps.length}: ${s.title}`, s.command, ''));
  return lines.join('\n');
}

export function deployPlan(o: DeployOptions): Step[] {
  const p = `--project=${o.project}`;
  const region = `--region=${o.region}`;
  const image = o.image ?? `${o.region}-docker.pkg.dev/${o.project}/bucketml/trainer:latest`;
  const sa = (name: string) => `bucketml-${name}@${o.project}.iam.gserviceaccount.com`;
  const member = (name: string) => `--member=serviceAccount:${sa(name)}`;
  const invoker = `${INVOKER}@${o.project}.iam.gserviceaccount.com`;
  const projectNumber = `$(gcloud projects describe ${o.project} --format='value(projectNumber)')`;
  const pubsubAgent = `serviceAccount:service-${projectNumber}@gcp-sa-pubsub.iam.gserviceaccount.com`;
  const steps: Step[] = [];
  const add = (title: string, command: string) => steps.push({ title, command });

  add(
    'enable the APIs',
    `gcloud services enable ${APIS.map((a) => `${a}.googleapis.com`).join(' ')} ${p}`,
  );
  add(
    'the bucket',
    ensure(
      `gcloud storage buckets describe gs://${o.bucket} ${p}`,
      `gcloud storage buckets create gs://${o.bucket} ${p} --location=${o.region} --uniform-bucket-level-access`,
    ),
  );
  steps.push(imageRepositoryStep(o, 'the trainer image repository'));
  add(
    'the trainer image (Dockerfile, tfjs-node inside)',
    `gcloud builds submit . --config=cloudbuild.yaml --substitutions=_IMAGE=${image} ${region} ${p}`,
  );

  for (const name of [...FUNCTIONS.map((f) => f.name), 'trainer']) {
    add(
      `service account for ${name}`,
      ensure(
        `gcloud iam service-accounts describe ${sa(name)} ${p}`,
        `gcloud iam service-accounts create bucketml-${name} --display-name=${q(`BucketML ${name}`)} ${p}`,
      ),
    );
  }
  add(
    'service account that delivers events to functions',
    ensure(
      `gcloud iam service-accounts describe ${invoker} ${p}`,
      `gcloud iam service-accounts create ${INVOKER} --display-name=${q('BucketML event delivery')} ${p}`,
    ),
  );

  for (const topic of Object.values(TOPICS)) {
    add(
      `topic ${topic}`,
      ensure(
        `gcloud pubsub topics describe ${topic} ${p}`,
        `gcloud pubsub topics create ${topic} ${p}`,
      ),
    );
  }
  add(
    'dead letters kept for inspection',
    ensure(
      `gcloud pubsub subscriptions describe ${DEAD_LETTER_SUBSCRIPTION} ${p}`,
      `gcloud pubsub subscriptions create ${DEAD_LETTER_SUBSCRIPTION} --topic=${TOPICS.deadLetter} --message-retention-duration=7d ${p}`,
    ),
  );

  for (const [name, roles] of Object.entries(ROLES)) {
    add(
      `${name}: ${roles.bucket} on the bucket`,
      `gcloud storage buckets add-iam-policy-binding gs://${o.bucket} ${member(name)} --role=${roles.bucket} ${p}`,
    );
    for (const role of roles.project)
      add(
        `${name}: ${role}`,
        `gcloud projects add-iam-policy-binding ${o.project} ${member(name)} --role=${role} --condition=None`,
      );
  }
  for (const name of ['data-upload', 'job-completed']) {
    add(
      `${name} may start Vertex AI jobs that run as the trainer`,
      `gcloud iam service-accounts add-iam-policy-binding ${sa('trainer')} ${member(name)} --role=roles/iam.serviceAccountUser ${p}`,
    );
  }
  for (const [name, topic] of PUBLISHERS) {
    add(
      `${name} publishes to ${topic}`,
      `gcloud pubsub topics add-iam-policy-binding ${topic} ${member(name)} --role=roles/pubsub.publisher ${p}`,
    );
  }
  add(
    'the event delivery account receives Eventarc events',
    `gcloud projects add-iam-policy-binding ${o.project} --member=serviceAccount:${invoker} --role=roles/eventarc.eventReceiver --condition=None`,
  );
  add(
    'Cloud Storage may publish the storage events Eventarc delivers',
    `gcloud projects add-iam-policy-binding ${o.project} --member=serviceAccount:$(gcloud storage service-agent ${p}) --role=roles/pubsub.publisher --condition=None`,
  );
  add(
    'Pub/Sub may mint the identity tokens of authenticated pushes',
    `gcloud projects add-iam-policy-binding ${o.project} --member=${pubsubAgent} --role=roles/iam.serviceAccountTokenCreator --condition=None`,
  );
  add(
    'Pub/Sub may forward undeliverable events to the dead-letter topic',
    `gcloud pubsub topics add-iam-policy-binding ${TOPICS.deadLetter} --member=${pubsubAgent} --role=roles/pubsub.publisher ${p}`,
  );

  steps.push(stageFunctionsStep());
  const settings: Partial<Record<SettingName, string>> = {
    BUCKETML_BUCKET: `gs://${o.bucket}`,
    BUCKETML_REGION: o.region,
    BUCKETML_TRAINER_IMAGE: image,
    BUCKETML_TRAINER_SERVICE_ACCOUNT: sa('trainer'),
  };
  const env = [
    `GOOGLE_CLOUD_PROJECT=${o.project}`,
    ...Object.entries(settings).map(([k, v]) => `${k}=${v}`),
  ].join(',');
  for (const fn of FUNCTIONS) {
    const common = `gcloud functions deploy ${fn.name} --gen2 --runtime=nodejs20 ${region} --source=${STAGING_DIR}/${fn.name} --entry-point=${fn.entryPoint} --service-account=${sa(fn.name)} --set-env-vars=${env} ${p}`;
    if (fn.trigger.kind === 'storage') {
      add(
        `function ${fn.name}: Eventarc trigger on objects finalized in gs://${o.bucket}`,
        `${common} --trigger-event-filters=type=${OBJECT_FINALIZED} --trigger-event-filters=bucket=${o.bucket} --trigger-location=${o.region} --trigger-service-account=${invoker} --retry --timeout=540s`,
      );
    } else if (fn.trigger.kind === 'pubsub') {
      add(
        `function ${fn.name}: private HTTP endpoint for its push subscription`,
        `${common} --trigger-http --no-allow-unauthenticated --timeout=540s`,
      );
    } else {
      add(
        `function ${fn.name}: HTTP, ${o.public ? 'public' : 'callers need an identity token'}`,
        `${common} --trigger-http ${o.public ? '--allow-unauthenticated' : '--no-allow-unauthenticated'} --memory=512Mi --timeout=60s`,
      );
    }
  }
  for (const fn of FUNCTIONS.filter((f) => f.trigger.kind !== 'http')) {
    add(
      `the event delivery account may invoke ${fn.name}`,
      `gcloud functions add-invoker-policy-binding ${fn.name} ${region} --member=serviceAccount:${invoker} ${p}`,
    );
  }

  for (const s of pushSubscriptions({ includeCloudOnly: true })) {
    const url = `$(gcloud functions describe ${s.fn} --gen2 ${region} --format='value(serviceConfig.uri)' ${p})`;
    add(
      `push subscription ${s.subscription}: ${s.topic} → ${s.fn}, retried with backoff, dead-lettered after ${DELIVERY.maxDeliveryAttempts} attempts`,
      ensure(
        `gcloud pubsub subscriptions describe ${s.subscription} ${p}`,
        `gcloud pubsub subscriptions create ${s.subscription} --topic=${s.topic} --push-endpoint=${url}/projects/${o.project}/topics/${s.topic} ` +
          `--push-auth-service-account=${invoker} --ack-deadline=${DELIVERY.ackDeadlineSeconds} --min-retry-delay=${DELIVERY.minBackoffSeconds}s ` +
          `--max-retry-delay=${DELIVERY.maxBackoffSeconds}s --dead-letter-topic=${TOPICS.deadLetter} --max-delivery-attempts=${DELIVERY.maxDeliveryAttempts} ${p}`,
      ),
    );
    add(
      `Pub/Sub may acknowledge dead-lettered messages of ${s.subscription}`,
      `gcloud pubsub subscriptions add-iam-policy-binding ${s.subscription} --member=${pubsubAgent} --role=roles/pubsub.subscriber ${p}`,
    );
  }

  add(
    'log sink: Vertex AI job state changes → the vertex-logs topic',
    ensure(
      `gcloud logging sinks describe ${SINK} ${p}`,
      `gcloud logging sinks create ${SINK} pubsub.googleapis.com/projects/${o.project}/topics/${TOPICS.vertexLogs} --log-filter=${q(VERTEX_LOG_FILTER)} ${p}`,
    ),
  );
  add(
    "the sink's writer identity may publish to the topic",
    `gcloud pubsub topics add-iam-policy-binding ${TOPICS.vertexLogs} --member=$(gcloud logging sinks describe ${SINK} --format='value(writerIdentity)' ${p}) --role=roles/pubsub.publisher ${p}`,
  );
  add(
    'the predict URL',
    `gcloud functions describe predict --gen2 ${region} --format='value(serviceConfig.uri)' ${p}`,
  );
  return steps;
}

export interface VertexEndpointOptions {
  project: string;
  region: string;
  bucket: string;
  /** The model whose deployed version the endpoint serves. */
  model: string;
  /** The version (a run id); default: the one models/<model>/serving.json names when run. */
  version?: string;
}

/**
 * Serving one model from a Vertex AI endpoint: the predict folder built as a container whose
 * entry point is the custom-container server (dist/vertex.js), the model's version uploaded
 * with that image and VERTEX_SERVING's routes and port, an endpoint, and the model deployed to
 * it. Each step finds what an earlier run made (by display name) instead of making another.
 */
export function vertexEndpointPlan(o: VertexEndpointOptions): Step[] {
  const p = `--project=${o.project}`;
  const region = `--region=${o.region}`;
  const image = `${o.region}-docker.pkg.dev/${o.project}/bucketml/predict-vertex:latest`;
  const pointer = `gs://${o.bucket}/${layout.servingPointer(o.model)}`;
  // The version is read when the step runs (the pointer moves with each deploy and rollback).
  const version =
    o.version ??
    `$(gcloud storage cat ${pointer} ${p} | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.parse(s).version))")`;
  const setVersion = `VERSION=${version}`;
  const modelName = `bucketml-${o.model}-$VERSION`;
  const endpointName = `bucketml-${o.model}`;
  const find = (kind: 'models' | 'endpoints', name: string) =>
    `$(gcloud ai ${kind} list ${region} --filter=display_name=${name} --format='value(name)' --limit=1 ${p})`;
  const steps: Step[] = [stageFunctionsStep(), imageRepositoryStep(o, 'the image repository')];
  const add = (title: string, command: string) => steps.push({ title, command });
  add(
    'the predict container for Vertex AI (buildpacks; entry point: the custom-container server)',
    `gcloud builds submit ${STAGING_DIR}/predict --pack=${q(`image=${image},env=GOOGLE_ENTRYPOINT=node dist/vertex.js`)} ${region} ${p}`,
  );
  add(
    `the model: ${o.model}'s version with the container's routes and port`,
    `${setVersion}; MODEL_NAME=${modelName}; [ -n "$(gcloud ai models list ${region} --filter=display_name=$MODEL_NAME --format='value(name)' ${p})" ] || ` +
      `gcloud ai models upload ${region} --display-name=$MODEL_NAME --container-image-uri=${image} ` +
      `--artifact-uri=gs://${o.bucket}/${layout.modelVersionPrefix(o.model, '$VERSION')} --container-ports=${VERTEX_SERVING.port} ` +
      `--container-health-route=${VERTEX_SERVING.healthRoute} --container-predict-route=${VERTEX_SERVING.predictRoute} ${p}`,
  );
  add(
    'the endpoint',
    `[ -n "${find('endpoints', endpointName)}" ] || gcloud ai endpoints create ${region} --display-name=${endpointName} ${p}`,
  );
  add(
    'the model deployed to the endpoint, with all its traffic (unless it already is)',
    `${setVersion}; ENDPOINT=${find('endpoints', endpointName)}; MODEL_NAME=${modelName}; ` +
      `gcloud ai endpoints describe $ENDPOINT ${region} --format='value(deployedModels.displayName)' ${p} | tr ';' '\\n' | grep -qx "$MODEL_NAME" || ` +
      `gcloud ai endpoints deploy-model $ENDPOINT ${region} --model=${find('models', '$MODEL_NAME')} ` +
      // Fixed, not a flag: the predictor is plain JavaScript on the CPU; a small machine serves it.
      `--display-name=$MODEL_NAME --machine-type=n1-standard-2 --traffic-split=0=100 ${p}`,
  );
  return steps;
}
