# Orrery: build with the dev dependencies, run with the production ones only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# The lockfile alone first, so that code changes reuse the installed layer.
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# Inside a container the loopback is unreachable from the host: listen on all interfaces.
ENV NODE_ENV=production ORRERY_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The embedded PGlite (used when DATABASE_URL is unset) writes to ./.orrery/data.
RUN mkdir .orrery && chown node:node .orrery
USER node
EXPOSE 7311
# The repository's config, compiled with everything else (tsconfig.build.json): the compiled CLI
# and the shipped domains' `import "orrery"` (package.json's exports: dist/src) are then one set of
# modules, with no TypeScript loaded at run time. No --demo: a container never seeds demo data.
# Exec form: node is PID 1 and gets SIGTERM itself, so the database closes cleanly.
CMD ["node", "dist/src/cli/main.js", "start", "--config", "dist/orrery.config.js"]
