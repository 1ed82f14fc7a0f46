import express, { Router, type Request, type Response } from 'express';
import { createKeyIdentifier, Scope, type ApiKey } from '../auth.ts';
import type { FailureSlowdown } from '../failure-slowdown.ts';
import type { Logger } from '@refresher/platform';
import { csrfTokenMatches, clearSessionCookie, sessionIdOf, setSessionCookie, SESSION_TTL_MS, type SessionStore } from './sessions.ts';
import { fromThisOrigin, sessionOf } from './guards.ts';
import { signInPage } from './page.ts';

export interface SignInDeps {
  apiKeys: readonly ApiKey[];
  sessions: SessionStore;
  log: Logger;
  /** The API's slow-down of clients that keep presenting wrong keys: the form counts the same. */
  slowdown?: FailureSlowdown;
}

const form = express.urlencoded({ extended: false, limit: '2kb', parameterLimit: 4 });

function answer(res: Response, status: number, error: string | null, delayMs = 0): void {
  const reply = () => {
    if (!res.headersSent && !res.destroyed) res.status(status).type('html').send(signInPage(error));
  };
  if (delayMs > 0) setTimeout(reply, delayMs).unref();
  else reply();
}

function presentedKey(req: Request): string | null {
  const key = (req.body as Record<string, unknown> | undefined)?.key;
  return typeof key === 'string' && key.trim().length > 0 ? key.trim() : null;
}

/**
 * `POST /status/sign-in` (form field `key`) and `POST /status/sign-out` (form field `csrf`). The
 * key is identified as the API does (its SHA-256 digest against the configured ones) and never
 * kept: the browser gets a new random session id in an HttpOnly, SameSite=Strict cookie. Both
 * forms must come from this origin.
 */
export function signInRoutes(deps: SignInDeps): Router {
  const router = Router();
  const identify = createKeyIdentifier(deps.apiKeys);

  router.post('/status/sign-in', form, (req, res) => {
    if (!fromThisOrigin(req)) return answer(res, 403, 'Sign in from this page.');
    const presented = presentedKey(req);
    const key = presented === null ? null : identify(`Bearer ${presented}`);
    if (!key) {
      const delayMs = deps.slowdown?.fail(req.ip ?? req.socket.remoteAddress ?? 'unknown') ?? 0;
      deps.log.info('status page sign-in refused');
      return answer(res, 401, 'That key was not accepted.', delayMs);
    }
    if (!key.scopes.has(Scope.Read)) return answer(res, 403, 'This key may not read the status: it needs the read scope.');
    // A new id at every sign-in: a session id planted before it is worth nothing after.
    deps.sessions.remove(sessionIdOf(req));
    const { id } = deps.sessions.create(key);
    setSessionCookie(req, res, id, SESSION_TTL_MS);
    deps.log.info({ key: key.name, scopes: [...key.scopes].join('+') }, 'status page signed in');
    res.redirect(303, '/status');
  });

  router.post('/status/sign-out', form, (req, res) => {
    const session = sessionOf(res);
    const csrf = (req.body as Record<string, unknown> | undefined)?.csrf;
    if (session && (!fromThisOrigin(req) || !csrfTokenMatches(session, csrf))) {
      res.status(403).json({ success: false, error: 'Cross-site request refused' });
      return;
    }
    deps.sessions.remove(sessionIdOf(req));
    clearSessionCookie(req, res);
    res.redirect(303, '/status');
  });

  return router;
}
