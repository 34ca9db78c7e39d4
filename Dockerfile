# syntax=docker/dockerfile:1
# cognito-bff: multi-stage build. The final image holds the compiled service,
# its production dependencies and openapi.yaml; it runs as the unprivileged
# `node` user. Node 22 LTS: the AWS SDK's releases after early 2027 need it.
# No install script runs (package.json allowScripts approves none; the image's npm
# predates allowScripts, so --ignore-scripts says it here).

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-fund --no-audit
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build:server

FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-fund --no-audit && npm cache clean --force

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json openapi.yaml ./
USER node
EXPOSE 3000
# No curl in slim images: Node's own fetch probes the liveness endpoint.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM goes straight to Node (no npm in between), which drains and exits 0.
CMD ["node", "dist/server.js"]
