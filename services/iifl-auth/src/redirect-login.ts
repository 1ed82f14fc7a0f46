import type { JetStreamClient, NatsConnection } from 'nats';
import {
  FailureCode,
  LOGIN_REFUSAL_CODES,
  LoginRefusal,
  ServiceErrorCode,
  type AppCredentials,
  type LoginLinkRequest,
  type LoginLinkResponse,
  type RedeemLoginRequest,
  type RedeemLoginResponse,
} from '@refresher/contracts';
import type { Keyring } from '@refresher/credential-crypto';
import type { Egress } from '@refresher/iifl-client';
import { encodeJson, ServiceCallError, type Logger } from '@refresher/platform';
import type { LoginLinks } from './login-links.ts';
import { GateAbortedError, type LoginLease, type LoginLock } from './login-lock.ts';
import { toLoginFailure } from './login-with-retries.ts';
import { CredentialsUnreadableError, openCredential } from './open-credentials.ts';
import { redeemedEvent } from './outgoing-events.ts';
import { readCredentials, type DeciderDeps, type LoginClient } from './refresh-decision.ts';

/**
 * A refusal answered to the caller: `reason` (a LoginRefusal or a FailureCode) is the service
 * error's description, never a value from the request.
 */
export class LoginRefused extends Error {
  override name = 'LoginRefused';
  constructor(
    readonly reason: string,
    readonly code: ServiceErrorCode,
  ) {
    super(reason);
  }
}

const refuse = (reason: LoginRefusal): never => {
  throw new LoginRefused(reason, LOGIN_REFUSAL_CODES[reason]);
};

export interface RedirectLoginDeps {
  nc: NatsConnection;
  log: Logger;
  client: LoginClient;
  keyring: Keyring | null;
  /** Null without LOGIN_LINK_SECRET / IIFL_REDIRECT_URL: links and nonces answer NOT_CONFIGURED. */
  links: LoginLinks | null;
  lock: LoginLock;
  credentialsTimeoutMs: number;
  /** Bound of one redeem: the wait for the account's lock plus the exchange at IIFL. */
  redeemDeadlineMs: number;
  /** Where the session step leaves from (egress.ts); absent: the OS picks. */
  egressFor?: DeciderDeps['egressFor'];
}

interface RedirectContext extends RedirectLoginDeps {
  js: JetStreamClient;
}

/** The browser redirect login: links for a user's browser, and authCodes turned into sessions. */
export function createRedirectLogin(deps: RedirectLoginDeps) {
  const ctx: RedirectContext = { ...deps, js: deps.nc.jetstream() };
  return {
    link: (request: LoginLinkRequest) => link(ctx, request),
    redeem: (request: RedeemLoginRequest) => redeem(ctx, request),
  };
}

/** The user's app key and secret as stored (ciphertext), or a refusal. */
async function appCredentials(ctx: RedirectContext, userID: string): Promise<AppCredentials & { egress?: string | null | undefined }> {
  const read = await readCredentials(ctx.nc, userID, ctx.credentialsTimeoutMs);
  if (!read.ok) {
    if (read.error instanceof ServiceCallError && read.error.code === ServiceErrorCode.NotFound) refuse(LoginRefusal.UserNotFound);
    throw new LoginRefused(FailureCode.CredentialsUnavailable, ServiceErrorCode.Unavailable);
  }
  if (read.answer.credentials === null) return refuse(LoginRefusal.NoAppCredentials);
  return { appKey: read.answer.credentials.appKey, appSecret: read.answer.credentials.appSecret, egress: read.answer.egress };
}

function open(ctx: RedirectContext, userID: string, column: 'appKey' | 'appSecret', value: string): string {
  try {
    return openCredential(ctx.keyring, userID, column, value);
  } catch (err) {
    if (!(err instanceof CredentialsUnreadableError)) throw err;
    ctx.log.error({ userID, column }, 'stored credential does not open');
    throw new LoginRefused(FailureCode.CredentialsUnavailable, ServiceErrorCode.Internal);
  }
}

async function link(ctx: RedirectContext, request: LoginLinkRequest): Promise<LoginLinkResponse> {
  const links = ctx.links ?? refuse(LoginRefusal.NotConfigured);
  const stored = await appCredentials(ctx, request.userID);
  const made = links.make(request.userID, open(ctx, request.userID, 'appKey', stored.appKey));
  ctx.log.info({ userID: request.userID, expiresAt: made.expiresAt.toISOString() }, 'login link made');
  return { userID: request.userID, url: made.url, expiresAt: made.expiresAt.toISOString() };
}

/**
 * Whose code it is, and how its nonce is spent (null for a code pasted by hand), or a refusal:
 * a nonce's signature and expiry, and the account IIFL logged in.
 */
export function redeemTarget(
  links: LoginLinks | null,
  request: RedeemLoginRequest,
): { userID: string; spend: (() => Promise<boolean>) | null } {
  if ('nonce' in request) {
    const l = links ?? refuse(LoginRefusal.NotConfigured);
    const check = l.check(request.nonce, request.clientId);
    if (!check.ok) return refuse(check.reason);
    return { userID: check.claims.userID, spend: () => l.spend(check.claims) };
  }
  if (request.clientId !== undefined && request.clientId !== request.userID) refuse(LoginRefusal.WrongAccount);
  return { userID: request.userID, spend: null };
}

/**
 * Checks in this order, so that a refused nonce changes nothing: signature and expiry, the
 * account IIFL logged in, the user's credentials; then the nonce is spent (a replay stops here),
 * and only then is the authCode sent to IIFL.
 */
async function redeem(ctx: RedirectContext, request: RedeemLoginRequest): Promise<RedeemLoginResponse> {
  const { userID, spend } = redeemTarget(ctx.links, request);
  const stored = await appCredentials(ctx, userID);
  const appSecret = open(ctx, userID, 'appSecret', stored.appSecret);
  const egress = ctx.egressFor?.(stored.egress, open(ctx, userID, 'appKey', stored.appKey));
  if (spend && !(await spend())) refuse(LoginRefusal.LinkUsed);
  return exchange(ctx, userID, request.authCode, { appSecret, egress });
}

/** The authCode for `userID` becomes a session, published like a headless login's. */
async function exchange(
  ctx: RedirectContext,
  userID: string,
  authCode: string,
  app: { appSecret: string; egress: Egress | undefined },
): Promise<RedeemLoginResponse> {
  const signal = AbortSignal.timeout(ctx.redeemDeadlineMs);
  const lease = await holdAccount(ctx.lock, userID, signal);
  try {
    let result;
    try {
      result = await ctx.client.sessionFromAuthCode({ userID, authCode, ...app }, signal);
    } catch (err) {
      const failure = toLoginFailure(err, signal.aborted);
      ctx.log.warn({ userID, code: failure.code, brokerCode: failure.brokerCode }, 'authCode exchange failed');
      throw new LoginRefused(failure.code, failure.retryable ? ServiceErrorCode.Unavailable : ServiceErrorCode.BadGateway);
    }
    const event = redeemedEvent(userID, result);
    const ack = await ctx.js.publish(event.subject, encodeJson(event.payload), { msgID: event.msgID });
    // A refresh request that waited for this login announces this token for its own run.
    await lease.finish(ack.seq);
    ctx.log.info(
      { userID, eventId: event.payload.eventId, tokenValidity: event.payload.tokenValidity },
      'authCode exchanged for a session',
    );
    return { userID, tokenValidity: event.payload.tokenValidity, loginTime: event.payload.loginTime, eventId: event.payload.eventId };
  } finally {
    await lease.release();
  }
}

/** One login per account at a time: a headless login under way is waited for, never joined. */
async function holdAccount(lock: LoginLock, userID: string, signal: AbortSignal): Promise<LoginLease> {
  let claim;
  try {
    claim = await lock.claim(userID, signal, { join: false });
  } catch (err) {
    if (err instanceof GateAbortedError) throw new LoginRefused(FailureCode.Timeout, ServiceErrorCode.Unavailable);
    throw err;
  }
  if (claim.role !== 'holder') throw new Error('login lock: a claim without joining joined');
  return claim.lease;
}
