import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderMetrics, type Registry } from './metrics.ts';

export type HealthCheck = () => { ok: boolean; details?: Record<string, unknown> };

/**
 * What `/readyz` adds to liveness: how the service's work stands. `degraded` still answers 200 (the
 * service can serve; something needs a person), a throw answers 503 (it cannot tell).
 */
export type ReadinessCheck = () => Promise<{ status: 'ok' | 'degraded' | 'none'; details?: Record<string, unknown> }>;

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export interface HealthServerOptions {
  host?: string;
  readiness?: ReadinessCheck;
  /** Served at `GET /metrics` in Prometheus text format (see metrics.ts). */
  metrics?: Registry;
}

/**
 * `GET /healthz` (liveness) answers 200 `{status:"ok"}` while the check passes, 503 otherwise.
 * `GET /readyz`, when a readiness check is given, answers as {@link answerReadiness} says; `GET
 * /metrics`, when a registry is given, its metrics. Services
 * that have no HTTP server of their own expose this one on `HEALTH_PORT`.
 */
export async function startHealthServer(port: number, check: HealthCheck, options: HealthServerOptions = {}): Promise<HealthServer> {
  const { host = '0.0.0.0', readiness, metrics } = options;
  const server: Server = createServer((req, res) => {
    const send = (code: number, body: object) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && (req.url === '/healthz' || req.url === '/health')) {
      const { ok, details } = check();
      send(ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', ...details });
    } else if (req.method === 'GET' && req.url === '/readyz' && readiness) {
      void answerReadiness(check, readiness).then(({ code, body }) => send(code, body));
    } else if (req.method === 'GET' && req.url === '/metrics' && metrics) {
      void renderMetrics(metrics).then(
        ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
        () => send(500, { error: 'metrics unavailable' }),
      );
    } else {
      send(404, { error: 'not found' });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * `/readyz`: 503 `unavailable` when the liveness check fails, 503 `unknown` when the readiness check
 * cannot answer (its source is unreachable), else 200 with its status (`ok`, `degraded`, `none`).
 */
export async function answerReadiness(
  check: HealthCheck,
  readiness: ReadinessCheck,
): Promise<{ code: number; body: Record<string, unknown> }> {
  if (!check().ok) return { code: 503, body: { status: 'unavailable' } };
  try {
    const { status, details } = await readiness();
    return { code: 200, body: { status, ...details } };
  } catch (err) {
    return { code: 503, body: { status: 'unknown', error: err instanceof Error ? err.message : 'readiness check failed' } };
  }
}

type ReadinessStatus = Awaited<ReturnType<ReadinessCheck>>['status'];

/**
 * A readiness check from a source asked at most once per `cacheMs` however often probes come; a
 * failed ask is not kept. The source's fields other than `status` go under `key` in the answer.
 */
export function cachedReadiness<T extends { status: ReadinessStatus }>(
  source: () => Promise<T>,
  key: string,
  cacheMs = 5_000,
): ReadinessCheck {
  let cached: { at: number; answer: Promise<T> } | undefined;
  return async () => {
    if (!cached || Date.now() - cached.at > cacheMs) cached = { at: Date.now(), answer: source() };
    const { answer } = cached;
    const { status, ...rest } = await answer.catch((err: unknown) => {
      if (cached?.answer === answer) cached = undefined;
      throw err;
    });
    return { status, details: { [key]: rest } };
  };
}
