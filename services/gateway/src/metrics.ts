import type { Request, RequestHandler } from 'express';
import { Counter, createMetricsRegistry, Histogram, METRIC_PREFIX, renderMetrics, type Registry } from '@refresher/platform';

/** The label of requests no route matched (unknown paths, and those refused before routing). */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The route a request matched, as its pattern (`/api/integration/tokens/refresh/:userID`), never the
 * path it was called with, so no user id becomes a label. Read when the answer is sent: a route's
 * error goes through the app's error handler after its router has given its mount path back, so
 * the mount is then taken from the request's own path, which begins with it.
 */
export function routeLabel(req: Request, mounts: readonly string[]): string {
  const route: unknown = req.route;
  const pattern = route && typeof route === 'object' && 'path' in route ? route.path : undefined;
  if (typeof pattern !== 'string') return UNMATCHED_ROUTE;
  if (req.baseUrl !== '') return `${req.baseUrl}${pattern}`;
  const path = req.originalUrl.split('?')[0] ?? '';
  const mount = mounts.find((m) => path.startsWith(`${m}/`) && !pattern.startsWith(`${m}/`));
  return `${mount ?? ''}${pattern}`;
}

export interface GatewayMetrics {
  registry: Registry;
  /** Counts every request by method, route pattern and status, and times it. */
  countRequests: RequestHandler;
  /** `GET /metrics`. */
  serve: RequestHandler;
}

/** The gateway's metrics; `mounts` are the paths routers are mounted at (for {@link routeLabel}). */
export function createGatewayMetrics(mounts: readonly string[], registry = createMetricsRegistry('gateway')): GatewayMetrics {
  const requests = new Counter({
    name: `${METRIC_PREFIX}http_requests_total`,
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${METRIC_PREFIX}http_request_duration_seconds`,
    help: 'HTTP request duration by method and route pattern',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30, 60],
    registers: [registry],
  });
  return {
    registry,
    countRequests: (req, res, next) => {
      const stop = duration.startTimer();
      res.once('finish', () => {
        const route = routeLabel(req, mounts);
        requests.inc({ method: req.method, route, status: String(res.statusCode) });
        stop({ method: req.method, route });
      });
      next();
    },
    serve: (_req, res, next) => {
      renderMetrics(registry).then(({ contentType, body }) => res.type(contentType).send(body), next);
    },
  };
}
