import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { StorageType } from 'nats';
import { Buckets } from '@refresher/contracts';
import { createIiflClient, iiflClientConfigFromEnv, type IiflClientHandle } from '@refresher/iifl-client';
import {
  connectNats,
  createLogger,
  ensureTopology,
  startHealthServer,
  type Logger,
  type NatsConnection,
} from '@refresher/platform';
import type { IiflAuthConfig } from './config.ts';
import { createRefreshHandler } from './refresh-handler.ts';
import { ensureRequestConsumer, startRequestLoop } from './request-consumer.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { createLoginLock } from './login-lock.ts';
import { createSharedTotpGuard } from './shared-totp-guard.ts';

/** Steps older than this cannot collide with a new code (RFC 6238 verifiers accept one step either side). */
const TOTP_BUCKET_TTL_MS = 5 * 60_000;

export interface IiflAuth {
  healthPort: number;
  /** Requests being handled right now. */
  inFlight(): number;
  /** Stops pulling, lets logins in flight finish within the grace period, hands back the rest, drains NATS. */
  stop(): Promise<void>;
}

export function retryPolicyFrom(config: IiflAuthConfig): RetryPolicy {
  return {
    maxAttempts: config.AUTH_RETRY_MAX_ATTEMPTS,
    baseMs: config.AUTH_RETRY_BASE_MS,
    maxDelayMs: config.AUTH_RETRY_MAX_DELAY_MS,
    deadlineMs: config.AUTH_RETRY_DEADLINE_MS,
  };
}

export async function startIiflAuth(config: IiflAuthConfig, options: { log?: Logger } = {}): Promise<IiflAuth> {
  const log = options.log ?? createLogger('iifl-auth', config.LOG_LEVEL);
  const nc = await connectNats(config, 'iifl-auth', log);
  let client: IiflClientHandle | undefined;
  try {
    await ensureTopology(nc);
    await ensureRequestConsumer(await nc.jetstreamManager(), {
      ackWaitMs: config.AUTH_ACK_WAIT_MS,
      maxDeliver: config.AUTH_MAX_DELIVER,
      maxAckPending: config.AUTH_MAX_IN_FLIGHT,
    });
    const js = nc.jetstream();
    const [lockKv, totpKv] = await Promise.all([
      js.views.kv(Buckets.loginLocks, { history: 1, ttl: config.AUTH_LOGIN_LOCK_TTL_MS, storage: StorageType.File }),
      js.views.kv(Buckets.totpSteps, { history: 1, ttl: TOTP_BUCKET_TTL_MS, storage: StorageType.File }),
    ]);
    const totpGuard = createSharedTotpGuard({ kv: totpKv });
    client = createIiflClient(iiflClientConfigFromEnv(config), { totpGuard });
    const lock = createLoginLock({
      kv: lockKv,
      ttlMs: config.AUTH_LOGIN_LOCK_TTL_MS,
      pollMs: config.AUTH_LOGIN_LOCK_POLL_MS,
      owner: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      log,
    });

    const handle = createRefreshHandler({
      client,
      nc,
      log,
      retryPolicy: retryPolicyFrom(config),
      lock,
      totpFresh: (userID, signal) => totpGuard.fresh(userID, signal),
      keyring: config.keyring,
      maxDeliver: config.AUTH_MAX_DELIVER,
      ackWaitMs: config.AUTH_ACK_WAIT_MS,
      nakDelayMs: config.AUTH_NAK_DELAY_MS,
      credentialsTimeoutMs: config.AUTH_CREDENTIALS_TIMEOUT_MS,
    });
    const loop = await startRequestLoop({
      js: nc.jetstream(),
      handle,
      concurrency: config.AUTH_CONCURRENCY,
      fetchExpiresMs: config.AUTH_FETCH_EXPIRES_MS,
      log,
    });
    const connected = trackConnection(nc);
    const health = await startHealthServer(config.HEALTH_PORT, () => ({
      ok: connected() && !nc.isClosed(),
      details: { inFlight: loop.inFlight(), keyPairsGenerated: client?.keyPairsGenerated() ?? 0 },
    }));
    log.info(
      { healthPort: health.port, concurrency: config.AUTH_CONCURRENCY, iiflBaseUrl: config.IIFL_BASE_URL },
      'iifl-auth started',
    );

    let stopping: Promise<void> | undefined;
    return {
      healthPort: health.port,
      inFlight: () => loop.inFlight(),
      stop: () =>
        (stopping ??= (async () => {
          await loop.stop(config.AUTH_SHUTDOWN_GRACE_MS);
          await nc.drain().catch((err: unknown) => log.warn({ err }, 'NATS drain failed'));
          await client?.close();
          await health.close();
        })()),
    };
  } catch (err) {
    await nc.close().catch(() => {});
    await client?.close().catch(() => {});
    throw err;
  }
}

/** Whether the connection is up, from its status events (it starts connected). */
function trackConnection(nc: NatsConnection): () => boolean {
  let up = true;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') up = false;
      else if (status.type === 'reconnect') up = true;
    }
  })();
  return () => up;
}
