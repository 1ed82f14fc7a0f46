import { createLogger, loadConfig, type Logger } from '@refresher/platform';
import { gatewayConfigSchema, startGateway, type Gateway } from '../src/index.ts';

export const API_KEY = 'test-integration-key-0123456789';

/** A logger whose lines are kept, so tests can check what was (not) logged. */
export function captureLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = createLogger('gateway', 'info', { write: (line: string) => void lines.push(line) });
  return { log, lines };
}

export interface TestGateway {
  gateway: Gateway;
  base: string;
  call(
    method: string,
    path: string,
    init?: { body?: unknown; rawBody?: string; headers?: Record<string, string>; auth?: string | null },
  ): Promise<{ status: number; headers: Headers; body: any; text: string }>;
}

export async function startTestGateway(
  natsUrl: string,
  env: Record<string, string> = {},
  log: Logger = createLogger('gateway', 'silent'),
): Promise<TestGateway> {
  const config = loadConfig(gatewayConfigSchema, {
    NATS_URL: natsUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    INTEGRATION_API_KEY: API_KEY,
    PERSISTENCE_TIMEOUT_MS: '1000',
    LOG_LEVEL: 'silent',
    // Tests of other things make many calls in a row: the limits have tests of their own.
    REFRESH_BURST: '1000',
    AUTH_FREE_FAILURES: '1000',
    ...env,
  });
  const gateway = await startGateway(config, { log });
  const base = `http://127.0.0.1:${gateway.port}`;
  return {
    gateway,
    base,
    async call(method, path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      if (init.auth !== null) headers.authorization = init.auth ?? `Bearer ${API_KEY}`;
      let body: string | undefined;
      if (init.rawBody !== undefined) body = init.rawBody;
      else if (init.body !== undefined) body = JSON.stringify(init.body);
      if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
  };
}
