/**
 * @module verbs/stage-functions
 * `bucketml stage-functions`: writes each function of the registry as a self-contained source
 * folder that Cloud Build can `npm install` on its own (cloud/stage-functions.ts); the deploy
 * plan runs it before `gcloud functions deploy`.
 */
import { FUNCTIONS } from '@bucketml/contracts';
import { repoRoot, stageFunction } from '../cloud/stage-functions.js';
import { defineVerb } from '../verb.js';

export const stageFunctions = defineVerb({
  name: 'stage-functions',
  summary: 'stage each function as a self-contained source folder for Cloud Build (deploy runs it)',
  description: `Copies each function's built code, with every internal package it reaches vendored as a file:
dependency, into <out>/<function>/, from the repository this command was built in. Run
\`npm run build\` first: only dist/ is copied.`,
  flags: [
    {
      name: 'out',
      type: 'string',
      default: '.bucketml/functions',
      help: 'the folder to stage into (one sub-folder per function)',
    },
  ],
  async run(flags) {
    const root = repoRoot();
    for (const fn of FUNCTIONS) {
      const dir = await stageFunction(root, fn.name, flags.out);
      process.stderr.write(`staged ${fn.name} → ${dir}\n`);
    }
    return 0;
  },
});
