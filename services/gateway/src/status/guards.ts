import type { Request, RequestHandler, Response } from 'express';
import type { ApiKey, Scope } from '../auth.ts';
import { csrfTokenMatches, sessionIdOf, type Session, type SessionStore } from './sessions.ts';

/** The header the page's own fetches carry the session's CSRF token in. */
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The session a request was signed in with (set by {@link attachSession}), or null. */
export function sessionOf(res: Response): Session | null {
  return (res.locals.statusSession as Session | undefined) ?? null;
}

/**
 * Finds the request's session by its cookie. A session stands for its key: the key is put where
 * the API's scope checks and per-key rate limit look for it, so the page's actions are held to
 * the same scopes and the same budget as the key's own API calls.
 */
export function attachSession(store: SessionStore): RequestHandler {
  return (req, res, next) => {
    const session = store.find(sessionIdOf(req));
    if (session) {
      res.locals.statusSession = session;
      (req as Request & { apiKey?: ApiKey }).apiKey = session.key;
    }
    next();
  };
}

/**
 * Whether a request comes from a page of this origin: `Sec-Fetch-Site` when the browser sends it
 * (every current one does), else `Origin` when present, compared with the host the request
 * names. A request with neither is not a browser's cross-site request (browsers send `Origin` on
 * every cross-site POST), and it carries no session cookie unless a browser sent it.
 */
export function fromThisOrigin(req: Request): boolean {
  const site = req.get('sec-fetch-site');
  if (site !== undefined) return site === 'same-origin' || site === 'none';
  const origin = req.get('origin');
  if (origin === undefined) return true;
  return origin === `${req.protocol}://${req.get('host') ?? ''}`;
}

/** 401 without a session; otherwise the request goes on with the session's key. */
export const requireSession: RequestHandler = (_req, res, next) => {
  if (sessionOf(res)) {
    next();
    return;
  }
  res.status(401).json({ success: false, error: 'Sign in on the status page first' });
};

/**
 * Every state-changing request of a session must come from this origin and carry the session's
 * CSRF token in `X-CSRF-Token` (on top of SameSite=Strict, which keeps the cookie off cross-site
 * requests in the first place): 403 otherwise, before anything is done.
 */
export const requireCsrf: RequestHandler = (req, res, next) => {
  const session = sessionOf(res);
  if (SAFE_METHODS.has(req.method) || (session && fromThisOrigin(req) && csrfTokenMatches(session, req.get(CSRF_HEADER)))) {
    next();
    return;
  }
  res.status(403).json({ success: false, error: 'Cross-site request refused' });
};

/** Whether the session's key holds `scope` (what the page offers; the routes check again). */
export function may(session: Session | null, scope: Scope): boolean {
  return session !== null && session.scopes.has(scope);
}
