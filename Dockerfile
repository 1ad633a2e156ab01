# syntax=docker/dockerfile:1
# aiq-sync: one image for every command (worker, ingress, simulator, enqueue, dlq, ...).
#   docker build -t aiq-sync .
#   docker run --rm --env-file .env aiq-sync worker

# ---- build: every dependency, TypeScript compiled to dist/ ----
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsc rewrites the sources' `.ts` import specifiers to `.js` (rewriteRelativeImportExtensions).
RUN npm run build

# ---- runtime: production dependencies and the compiled code only, as a non-root user ----
FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The image's unprivileged `node` user (uid 1000); the code stays owned by root, read-only to it.
USER node
# Ingress (INGRESS_PORT) and worker metrics (WORKER_METRICS_PORT, when set).
EXPOSE 8080 9464
ENTRYPOINT ["node", "dist/main.js"]
CMD ["--help"]
