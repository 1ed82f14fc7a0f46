import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import { answerReadiness, type Logger } from '@refresher/platform';
import { morningReadiness } from '@refresher/refresh-runs';
import { requireApiKey, requireScope, Scope } from '../auth.ts';
import { createFailureSlowdown } from '../failure-slowdown.ts';
import { createGatewayMetrics } from '../metrics.ts';
import { rateLimitPerKey } from '../rate-limit.ts';
import { userAdminRoutes } from '../routes/user-admin.ts';
import { API_PREFIX } from '../legacy-bodies.ts';
import { iiflCallback, iiflLoginRoutes } from '../routes/iifl-login.ts';
import { refreshRoutes } from '../routes/refresh.ts';
import { rejectionRoutes } from '../routes/rejections.ts';
import { runRoutes } from '../routes/runs.ts';
import { tokenPushRoutes } from '../routes/token-push.ts';
import { userRoutes } from '../routes/users.ts';
import { OPENAPI_PATH, serveOpenApi } from '../openapi/document.ts';
import { refreshFailedRoutes } from '../status/refresh-failed.ts';
import { statusPageRoutes } from '../status/routes.ts';
import type { HttpDeps, RouteDeps } from './deps.ts';
import { errorHandler, notFound } from './errors.ts';

/**
 * One line per request: method, path, status, duration. Never query strings or bodies; headers at
 * trace level only, with the credentials in them redacted.
 */
function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const path = req.path;
    // Headers only at trace, for diagnosing a client; the logger redacts authorization and cookies.
    if (log.isLevelEnabled('trace')) log.trace({ method: req.method, path, headers: req.headers }, 'request received');
    res.once('finish', () => {
      const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
      log.info({ method: req.method, path, status: res.statusCode, ms }, 'request');
    });
    next();
  };
}

const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};

/**
 * The legacy integration API over events: `/api/integration/*` behind the API key, and an
 * unauthenticated `GET /healthz` that follows the NATS connection and `GET /readyz` that tells
 * how the latest morning stands.
 */
export function createHttpApp(deps: HttpDeps): Express {
  const isHealthy = deps.isHealthy ?? (() => !deps.nc.isClosed());
  const refreshLimit = rateLimitPerKey(deps.refreshRateLimit ?? { burst: 10, perMinute: 30 });
  const routeDeps: RouteDeps = {
    nc: deps.nc,
    waitMs: deps.waitMs,
    persistenceTimeoutMs: deps.persistenceTimeoutMs ?? 10_000,
    iiflAuthTimeoutMs: deps.iiflAuthTimeoutMs ?? 40_000,
    log: deps.log,
    shutdownSignal: deps.shutdownSignal,
    allow: (scope) => (scope === Scope.Refresh ? [requireScope(scope), refreshLimit] : [requireScope(scope)]),
  };
  const slowdown = createFailureSlowdown(
    deps.failureSlowdown ?? { freeFailures: 5, baseDelayMs: 250, maxDelayMs: 5_000, windowMs: 15 * 60_000 },
  );

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  if (deps.trustProxy !== undefined) app.set('trust proxy', /^\d+$/.test(deps.trustProxy) ? Number(deps.trustProxy) : deps.trustProxy);
  app.use(helmet());
  app.use(requestLog(deps.log));
  const metrics = createGatewayMetrics([API_PREFIX], deps.metrics);
  app.use(metrics.countRequests);

  app.get('/healthz', (_req, res) => {
    const ok = isHealthy();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', nats: ok ? 'connected' : 'disconnected' });
  });
  // Prometheus text, unauthenticated like the health routes: route patterns and counts, nothing secret.
  app.get('/metrics', metrics.serve);
  // The morning's verdict from persistence: 200 ok/degraded/none, 503 when it cannot be told.
  const readiness = morningReadiness(deps.nc, routeDeps.persistenceTimeoutMs);
  app.get('/readyz', (_req, res, next) => {
    answerReadiness(() => ({ ok: isHealthy() }), readiness).then(({ code, body }) => res.status(code).json(body), next);
  });

  // The operator's status page (`/`, `/status/*`): its own session cookie, never a key in the browser.
  app.use(statusPageRoutes({ ...routeDeps, apiKeys: deps.apiKeys, slowdown }));

  // IIFL sends the browser here after a login: no API key, the link's signed single-use nonce is the authority.
  app.get(`${API_PREFIX}/iifl/callback`, noStore, iiflCallback(routeDeps));
  // The API's description: public like any API description, it holds no secret and no data.
  app.get(OPENAPI_PATH, serveOpenApi());

  // The key is checked before the body is read: an unauthenticated caller learns nothing else.
  app.use(
    API_PREFIX,
    noStore,
    requireApiKey(deps.apiKeys, slowdown),
    express.json({ limit: deps.bodyLimit ?? '16kb' }),
    refreshRoutes(routeDeps),
    runRoutes(routeDeps),
    userRoutes(routeDeps),
    tokenPushRoutes(routeDeps),
    iiflLoginRoutes(routeDeps),
    rejectionRoutes(routeDeps),
    refreshFailedRoutes(routeDeps),
    ...(deps.keyring ? [userAdminRoutes({ ...routeDeps, keyring: deps.keyring })] : []),
  );

  app.use(notFound);
  app.use(errorHandler(deps.log));
  return app;
}
