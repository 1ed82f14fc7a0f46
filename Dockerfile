# One image for every service; SERVICE picks the entry point (services/<SERVICE>/src/main.ts).
FROM node:20-bookworm-slim
RUN npm install -g pnpm@12.4.2
WORKDIR /app
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.base.json ./
COPY libs ./libs
COPY services ./services
COPY db ./db
COPY test/package.json ./test/package.json
COPY bench/package.json ./bench/package.json
RUN pnpm install --frozen-lockfile
ARG SERVICE=gateway
ENV SERVICE=${SERVICE} NODE_ENV=production
USER node
CMD ["sh", "-c", "exec node --import tsx services/${SERVICE}/src/main.ts"]
