# The trainer image Vertex AI runs for trials and final trainings: `bucketml train …`.
# Here @tensorflow/tfjs-node installs (it downloads libtensorflow), so training uses native
# TensorFlow; the trainer still falls back to wasm/cpu if it cannot load.
FROM node:20-bookworm-slim
WORKDIR /bucketml
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY packages ./packages
COPY functions ./functions
RUN npm ci --no-audit --no-fund && npm prune --omit=dev  # npm ci builds (prepare)
ENV NODE_ENV=production
ENTRYPOINT ["node", "packages/trainer/bin/bucketml.js"]
