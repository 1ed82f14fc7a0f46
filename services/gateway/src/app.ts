import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectNats, createLogger, ensureTopology, trackConnection, type Logger } from '@refresher/platform';
import { RECOMMENDED_API_KEY_LENGTH, type GatewayConfig } from './config.ts';
import { createHttpApp } from './http/create-http-app.ts';

export interface Gateway {
  /** The port actually listened on (useful with PORT=0). */
  port: number;
  stop(): Promise<void>;
}

/** How long `stop()` lets in-flight requests finish before closing their connections. */
const CLOSE_GRACE_MS = 10_000;

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startGateway(config: GatewayConfig, options: { log?: Logger } = {}): Promise<Gateway> {
  const log = options.log ?? createLogger('gateway', config.LOG_LEVEL);
  if (config.legacyKeyTooShort) {
    log.warn(`INTEGRATION_API_KEY is shorter than ${RECOMMENDED_API_KEY_LENGTH} characters; use a long random key`);
  }

  const nc = await connectNats(config, 'gateway', log);
  let server: Server | undefined;
  try {
    await ensureTopology(nc, config.STREAM_REPLICAS);
    const shutdown = new AbortController();
    const app = createHttpApp({
      nc,
      apiKeys: config.apiKeys,
      keyring: config.keyring,
      refreshRateLimit: { burst: config.REFRESH_BURST, perMinute: config.REFRESH_RATE_PER_MINUTE },
      failureSlowdown: {
        freeFailures: config.AUTH_FREE_FAILURES,
        baseDelayMs: config.AUTH_FAILURE_DELAY_MS,
        maxDelayMs: config.AUTH_FAILURE_MAX_DELAY_MS,
        windowMs: 15 * 60_000,
      },
      ...(config.TRUST_PROXY !== undefined ? { trustProxy: config.TRUST_PROXY } : {}),
      waitMs: config.REFRESH_WAIT_MS,
      bodyLimit: config.BODY_LIMIT,
      persistenceTimeoutMs: config.PERSISTENCE_TIMEOUT_MS,
      iiflAuthTimeoutMs: config.IIFL_AUTH_TIMEOUT_MS,
      log,
      isHealthy: trackConnection(nc),
      shutdownSignal: shutdown.signal,
    });
    const httpServer = createServer(app);
    server = httpServer;
    const port = await listen(httpServer, config.PORT, config.HOST);
    log.info({ port, host: config.HOST, apiKeys: config.apiKeys.map((k) => `${k.name}:${[...k.scopes].join('+')}`) }, 'gateway listening');

    let stopped: Promise<void> | undefined;
    const stop = async () => {
      // Stop taking requests; waiting refresh calls answer 202 with their run id at once.
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      shutdown.abort();
      // Keep-alive connections become idle as their last answers go out: close them as they do.
      const reaper = setInterval(() => httpServer.closeIdleConnections(), 50);
      const grace = setTimeout(() => httpServer.closeAllConnections(), CLOSE_GRACE_MS);
      await closed;
      clearInterval(reaper);
      clearTimeout(grace);
      await nc.drain();
    };
    return {
      port,
      stop: () => (stopped ??= stop()),
    };
  } catch (err) {
    server?.close();
    await nc.close();
    throw err;
  }
}
