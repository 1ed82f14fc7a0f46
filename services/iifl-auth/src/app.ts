import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { StorageType } from 'nats';
import { Buckets } from '@refresher/contracts';
import { morningReadiness } from '@refresher/refresh-runs';
import {
  createIiflClient,
  createNodeHttpTransport,
  iiflClientConfigFromEnv,
  type IiflClientHandle,
  type TotpStepGuard,
} from '@refresher/iifl-client';
import {
  connectNats,
  createLogger,
  ensureBucket,
  ensureTopology,
  startHealthServer,
  trackConnection,
  type Logger,
  type NatsConnection,
} from '@refresher/platform';
import type { IiflAuthConfig } from './config.ts';
import { createAccountEgress } from './account-egress.ts';
import { loadEgressPolicy, type EgressPolicy } from './egress.ts';
import { startLoginApi, type LoginApi } from './login-api.ts';
import { createLoginLinks, NONCE_BUCKET_TTL_MS } from './login-links.ts';
import { createLoginLock, type LoginLock } from './login-lock.ts';
import { createLoginRequiredAnnouncer, ensureLoginLinkStream } from './login-required.ts';
import { createIiflAuthMetrics, type IiflAuthMetrics } from './metrics.ts';
import { createRedirectLogin } from './redirect-login.ts';
import { createRefreshHandler } from './refresh-handler.ts';
import { ensureRequestConsumer, startRequestLoop } from './request-consumer.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { createSharedTotpGuard } from './shared-totp-guard.ts';
import { startDayWatch } from './token-watch-setup.ts';

/** Steps older than this cannot collide with a new code (RFC 6238 verifiers accept one step either side). */
const TOTP_BUCKET_TTL_MS = 5 * 60_000;
/** Bound of one authCode redeem (the account's lock, then the exchange at IIFL). */
const REDEEM_DEADLINE_MS = 30_000;

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

/** This service's buckets: login locks, TOTP steps used, login-link nonces redeemed. */
async function openBuckets(nc: NatsConnection, config: IiflAuthConfig) {
  const replicas = config.STREAM_REPLICAS;
  const [lockKv, totpKv, nonceKv] = await Promise.all([
    ensureBucket(nc, Buckets.loginLocks, { history: 1, ttl: config.AUTH_LOGIN_LOCK_TTL_MS, storage: StorageType.File }, replicas),
    ensureBucket(nc, Buckets.totpSteps, { history: 1, ttl: TOTP_BUCKET_TTL_MS, storage: StorageType.File }, replicas),
    ensureBucket(nc, Buckets.loginNonces, { history: 1, ttl: NONCE_BUCKET_TTL_MS, storage: StorageType.File }, replicas),
  ]);
  return { lockKv, totpKv, nonceKv };
}

/** The IIFL client: each login names its headless variant; the client's own default only matters to other callers. */
function createClient(config: IiflAuthConfig, totpGuard: TotpStepGuard, metrics: IiflAuthMetrics): IiflClientHandle {
  const headlessDefault = config.IIFL_LOGIN_FLOW === 'redirect' ? 'headless-v1' : config.IIFL_LOGIN_FLOW;
  const clientConfig = iiflClientConfigFromEnv({ ...config, IIFL_LOGIN_FLOW: headlessDefault });
  const transport = metrics.timed(createNodeHttpTransport({ timeoutMs: clientConfig.timeoutMs }));
  return createIiflClient(clientConfig, { totpGuard, transport });
}

export async function startIiflAuth(config: IiflAuthConfig, options: { log?: Logger } = {}): Promise<IiflAuth> {
  const log = options.log ?? createLogger('iifl-auth', config.LOG_LEVEL);
  const nc = await connectNats(config, 'iifl-auth', log);
  const metrics = createIiflAuthMetrics();
  let client: IiflClientHandle | undefined;
  let loginApi: LoginApi | undefined;
  try {
    await ensureTopology(nc, config.STREAM_REPLICAS);
    const jsm = await nc.jetstreamManager();
    await ensureRequestConsumer(jsm, {
      ackWaitMs: config.AUTH_ACK_WAIT_MS,
      maxDeliver: config.AUTH_MAX_DELIVER,
      maxAckPending: config.AUTH_MAX_IN_FLIGHT,
    });
    await ensureLoginLinkStream(jsm, config.STREAM_REPLICAS);
    const { lockKv, totpKv, nonceKv } = await openBuckets(nc, config);
    const totpGuard = createSharedTotpGuard({ kv: totpKv });
    client = createClient(config, totpGuard, metrics);
    const egress = loadEgressPolicy(config); // a bad map file stops the start
    const lock = createLoginLock({
      kv: lockKv,
      ttlMs: config.AUTH_LOGIN_LOCK_TTL_MS,
      pollMs: config.AUTH_LOGIN_LOCK_POLL_MS,
      owner: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      log,
    });
    const links = config.loginLinks ? createLoginLinks(config.loginLinks, nonceKv) : null;
    if (!links && config.IIFL_LOGIN_FLOW === 'redirect') {
      log.warn('IIFL_LOGIN_FLOW is redirect but LOGIN_LINK_SECRET / IIFL_REDIRECT_URL are not set: users are skipped without a login link');
    }
    const redirectLogin = createRedirectLogin({
      nc,
      log,
      client,
      keyring: config.keyring,
      links,
      lock,
      credentialsTimeoutMs: config.AUTH_CREDENTIALS_TIMEOUT_MS,
      redeemDeadlineMs: REDEEM_DEADLINE_MS,
      egressFor: egress.forLogin,
    });
    loginApi = await startLoginApi(nc, redirectLogin, log);
    return await startConsuming(nc, config, log, {
      client,
      lock,
      totpFresh: (userID, signal) => totpGuard.fresh(userID, signal),
      announceLoginRequired: createLoginRequiredAnnouncer({ js: nc.jetstream(), links, keyring: config.keyring }),
      loginApi,
      loginLinks: links !== null,
      metrics,
      egress,
    });
  } catch (err) {
    await loginApi?.stop().catch(() => {});
    await nc.close().catch(() => {});
    await client?.close().catch(() => {});
    throw err;
  }
}

interface Parts {
  client: IiflClientHandle;
  lock: LoginLock;
  totpFresh: (userID: string, signal: AbortSignal) => Promise<void>;
  announceLoginRequired: ReturnType<typeof createLoginRequiredAnnouncer>;
  loginApi: LoginApi;
  loginLinks: boolean;
  metrics: IiflAuthMetrics;
  egress: EgressPolicy;
}

/** The day watch of stored tokens (null when TOKEN_CHECK_INTERVAL_MS is 0), each check from the user's login egress. */
function startWatch(nc: NatsConnection, config: IiflAuthConfig, parts: Parts, log: Logger) {
  const egressOf = createAccountEgress({
    nc,
    keyring: config.keyring,
    policy: parts.egress,
    timeoutMs: config.AUTH_CREDENTIALS_TIMEOUT_MS,
  });
  return startDayWatch(nc, parts.client, { intervalMs: config.TOKEN_CHECK_INTERVAL_MS, replicas: config.STREAM_REPLICAS }, log, egressOf);
}

/** The request loop, the health endpoint, and the way to stop it all. */
async function startConsuming(nc: NatsConnection, config: IiflAuthConfig, log: Logger, parts: Parts): Promise<IiflAuth> {
  const handle = createRefreshHandler({
    client: parts.client,
    nc,
    log,
    retryPolicy: retryPolicyFrom(config),
    lock: parts.lock,
    totpFresh: parts.totpFresh,
    keyring: config.keyring,
    defaultFlow: config.IIFL_LOGIN_FLOW,
    announceLoginRequired: parts.announceLoginRequired,
    egressFor: parts.egress.forLogin,
    maxDeliver: config.AUTH_MAX_DELIVER,
    ackWaitMs: config.AUTH_ACK_WAIT_MS,
    nakDelayMs: config.AUTH_NAK_DELAY_MS,
    credentialsTimeoutMs: config.AUTH_CREDENTIALS_TIMEOUT_MS,
    onSettled: parts.metrics.settled,
  });
  parts.metrics.watchQueue(await nc.jetstreamManager(), log);
  const loop = await startRequestLoop({
    js: nc.jetstream(),
    handle,
    concurrency: config.AUTH_CONCURRENCY,
    fetchExpiresMs: config.AUTH_FETCH_EXPIRES_MS,
    log,
  });
  const watch = await startWatch(nc, config, parts, log);
  const connected = trackConnection(nc);
  const health = await startHealthServer(
    config.HEALTH_PORT,
    () => ({ ok: connected(), details: { inFlight: loop.inFlight(), keyPairsGenerated: parts.client.keyPairsGenerated() } }),
    { readiness: morningReadiness(nc), metrics: parts.metrics.registry },
  );
  log.info(
    {
      healthPort: health.port,
      concurrency: config.AUTH_CONCURRENCY,
      iiflBaseUrl: config.IIFL_BASE_URL,
      loginFlow: config.IIFL_LOGIN_FLOW,
      loginLinks: parts.loginLinks,
      // The count only: app keys are never logged.
      egressAppKeys: parts.egress.mapped,
      egressDefault: parts.egress.fallback,
    },
    'iifl-auth started',
  );

  let stopping: Promise<void> | undefined;
  return {
    healthPort: health.port,
    inFlight: () => loop.inFlight(),
    stop: () =>
      (stopping ??= (async () => {
        await watch?.stop();
        await loop.stop(config.AUTH_SHUTDOWN_GRACE_MS);
        await parts.loginApi.stop();
        await nc.drain().catch((err: unknown) => log.warn({ err }, 'NATS drain failed'));
        await parts.client.close();
        await health.close();
      })()),
  };
}
