# The trainer image Vertex AI runs for trials and final trainings: `bucketml train …`.
# It installs and builds only @bucketml/cli's dependency graph (cli, trainer, model, contracts):
# no Google Cloud client library. Here @tensorflow/tfjs-node installs (it downloads
# libtensorflow), so training uses native TensorFlow; the trainer still falls back to wasm/cpu
# if it cannot load.
FROM node:20-bookworm-slim
WORKDIR /bucketml
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
# Every workspace's manifest must be present for npm to read the lockfile; only the CLI's
# graph is installed and built.
COPY packages ./packages
COPY functions ./functions
# The root's prepare script would build every package, including those this image leaves out.
RUN npm pkg delete scripts.prepare \
 && npm ci --workspace @bucketml/cli --include-workspace-root --no-audit --no-fund \
 && npx turbo run build --filter=@bucketml/cli... --output-logs=errors-only \
 && npm prune --omit=dev --workspace @bucketml/cli --include-workspace-root --no-audit --no-fund
ENV NODE_ENV=production
ENTRYPOINT ["node", "packages/cli/bin/bucketml.js"]
