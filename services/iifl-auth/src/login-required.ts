import { randomUUID } from 'node:crypto';
import { nanos, RetentionPolicy, type JetStreamClient, type JetStreamManager } from 'nats';
import { LoginLinkStream, LoginRequired, Subjects, type RefreshRequested } from '@refresher/contracts';
import type { Keyring } from '@refresher/credential-crypto';
import { encodeJson, ensureStream, fileStream } from '@refresher/platform';
import type { LoginLinks } from './login-links.ts';
import { openCredential } from './open-credentials.ts';

/**
 * The stream of login links (`tokens.login-required.>`): kept a day, for a notifier that was away;
 * a repeated announcement of one run's link (a redelivered request) is stored once.
 */
export async function ensureLoginLinkStream(jsm: JetStreamManager, replicas: number): Promise<void> {
  await ensureStream(
    jsm,
    fileStream(LoginLinkStream, {
      retention: RetentionPolicy.Limits,
      max_age: nanos(24 * 60 * 60_000),
      duplicate_window: nanos(15 * 60_000),
    }),
    replicas,
  );
}

export interface LoginRequiredDeps {
  js: JetStreamClient;
  /** Null when LOGIN_LINK_SECRET / IIFL_REDIRECT_URL are not set: the event carries no link. */
  links: LoginLinks | null;
  keyring: Keyring | null;
}

/**
 * Announces that a redirect-flow user of a run must log in in a browser: `tokens.login-required.<userID>`
 * with a fresh login link (the app key, as stored, is opened only for it). Rejects when the app key
 * does not open (CredentialsUnreadableError) or the event cannot be stored.
 */
export function createLoginRequiredAnnouncer(deps: LoginRequiredDeps) {
  return async function announce(request: RefreshRequested, storedAppKey: string): Promise<LoginRequired> {
    const link = deps.links ? deps.links.make(request.userID, openCredential(deps.keyring, request.userID, 'appKey', storedAppKey)) : null;
    const event = LoginRequired.parse({
      v: 1,
      eventId: randomUUID(),
      runId: request.runId,
      userID: request.userID,
      loginUrl: link?.url ?? null,
      expiresAt: link?.expiresAt.toISOString() ?? null,
      requestedAt: new Date().toISOString(),
    });
    await deps.js.publish(Subjects.loginRequired(request.userID), encodeJson(event), {
      msgID: `login-required:${request.runId}:${request.userID}`,
    });
    return event;
  };
}
