import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type HealthCheck = () => { ok: boolean; details?: Record<string, unknown> };

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/**
 * `GET /healthz` answers 200 `{status:"ok"}` while the check passes, 503 otherwise. Services that
 * have no HTTP server of their own expose this one on `HEALTH_PORT`.
 */
export async function startHealthServer(port: number, check: HealthCheck, host = '0.0.0.0'): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/healthz' && req.url !== '/health')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const { ok, details } = check();
    res
      .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...details }));
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
