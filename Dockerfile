# syntax=docker/dockerfile:1
# The broker on the current Node.js LTS. Configuration, catalog, agents and keys are mounted, never baked in:
#   docker run -v /etc/broker:/etc/broker -e BROKER_CONFIG=/etc/broker/broker.yaml -p 9400:9400 agent-token-broker
# With NODE_ENV=production the embedded development default (and its development identity provider) is refused.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
USER node
EXPOSE 9400
HEALTHCHECK --interval=10s --timeout=2s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.BROKER_PORT || 9400) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# A somewhat larger young generation than Node's default: the token endpoint allocates briskly and short-lived.
# 16 MiB, not more: each in-flight request's graph survives a scavenge, and a larger semi-space makes each
# scavenge longer, which is what the p99 tail is made of (bench/README.md, "GC").
ENTRYPOINT ["node", "--max-semi-space-size=16", "dist/main.js"]
