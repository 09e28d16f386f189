/**
 * @module verbs/cancel
 * `bucketml cancel --bucket DIR|gs://B --run RUN_ID`: asks a run to stop by writing its cancel
 * request (runs/<runId>/cancel.json). data-upload, triggered by that object as by a drop,
 * cancels the run's jobs on the training backend and fails the run; being an object in the
 * bucket, the request holds across restarts of the stack. A directory bucket is written
 * directly; a gs:// bucket through `gcloud storage` (this package carries no Cloud client).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, readFile, realpath, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { layout, parseRunId } from '@bucketml/contracts';
import { UsageError } from '../flags.js';
import { defineVerb } from '../verb.js';

export const cancel = defineVerb({
  name: 'cancel',
  summary: 'cancel a run: stop its trials or final training; the run ends failed',
  description: `Writes runs/<run>/cancel.json into the bucket. The pipeline's data-upload function sees it
like a drop, cancels the run's study or final training on the training backend (the local
service stops the trainers; Vertex AI cancels the job) and marks the run failed with the
reason. A run already being deployed or ended is left as it is. The request stays in the
bucket, so it holds across restarts of npm start.`,
  flags: [
    {
      name: 'bucket',
      type: 'string',
      required: true,
      help: 'the bucket: a directory (the embedded default, e.g. .bucket) or gs://<bucket>',
    },
    {
      name: 'run',
      type: 'string',
      required: true,
      help: 'the run id, e.g. babyweight-93e2fa90eef7',
    },
    {
      name: 'reason',
      type: 'string',
      help: 'why, recorded in the run and its events (default: none)',
    },
  ],
  async run(flags) {
    if (!parseRunId(flags.run))
      throw new UsageError(
        `--run: ${JSON.stringify(flags.run)} is not a run id (<model>-<12 hex>)`,
      );
    const request = JSON.stringify({
      requestedAt: new Date().toISOString(),
      ...(flags.reason ? { reason: flags.reason } : {}),
    });
    const object = layout.cancelRequest(flags.run);
    if (flags.bucket.startsWith('gs://')) {
      const uri = `${flags.bucket.replace(/\/$/, '')}/${object}`;
      const r = spawnSync('gcloud', ['storage', 'cp', '-', uri], {
        input: request,
        stdio: ['pipe', 'inherit', 'inherit'],
      });
      if (r.status !== 0) {
        process.stderr.write(`bucketml cancel: gcloud storage cp to ${uri} failed\n`);
        return 1;
      }
      process.stdout.write(`cancel requested: ${uri}\n`);
      return 0;
    }
    const root = await realpath(flags.bucket).catch(() => null);
    if (!root) throw new UsageError(`--bucket: ${flags.bucket} is not a directory`);
    // As the directory bucket does: no link on the way, so nothing is read or written outside.
    const dir = join(root, layout.run(flags.run), '..');
    for (const at of [join(root, layout.runsRoot), dir, join(root, layout.run(flags.run))]) {
      const info = await lstat(at).catch(() => null);
      if (!info || info.isSymbolicLink()) {
        process.stderr.write(
          info
            ? `bucketml cancel: ${at} is a link, and the bucket does not follow links\n`
            : `bucketml cancel: no run ${flags.run} in ${flags.bucket}\n`,
        );
        return 1;
      }
    }
    const state = await readFile(join(root, layout.run(flags.run)), 'utf8')
      .then((t) => (JSON.parse(t) as { state?: string }).state)
      .catch(() => undefined);
    const path = join(root, object);
    // A fresh temporary name, created exclusively (never through a link), renamed into place.
    const tmp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
    const file = await open(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    );
    try {
      await file.writeFile(request);
    } finally {
      await file.close();
    }
    await rename(tmp, path);
    process.stdout.write(
      `cancel requested for run ${flags.run} (now ${state ?? 'unknown'}): ${path}\n`,
    );
    return 0;
  },
});
