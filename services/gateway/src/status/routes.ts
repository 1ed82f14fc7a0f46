import express, { Router, type RequestHandler } from 'express';
import { Scope, type ApiKey } from '../auth.ts';
import type { FailureSlowdown } from '../failure-slowdown.ts';
import type { RouteDeps } from '../http/deps.ts';
import { toErrorAnswer } from '../http/errors.ts';
import { sendLoginPage } from '../http/login-page.ts';
import { iiflLoginRoutes } from '../routes/iifl-login.ts';
import { refreshRoutes } from '../routes/refresh.ts';
import { rejectionRoutes } from '../routes/rejections.ts';
import { noStore, serveScript, serveStyles, statusCsp } from './assets.ts';
import { readStatus } from './data.ts';
import { createEventHub } from './events.ts';
import { attachSession, requireCsrf, requireSession, sessionOf } from './guards.ts';
import { reloadPage, signInPage, statusPage } from './page.ts';
import { refreshFailedRoutes } from './refresh-failed.ts';
import { createSessionStore, type SessionStore } from './sessions.ts';
import { signInRoutes } from './sign-in.ts';

export interface StatusPageDeps extends RouteDeps {
  apiKeys: readonly ApiKey[];
  slowdown?: FailureSlowdown;
  /** The sessions of this replica (a fresh in-memory store unless given). */
  sessions?: SessionStore;
}

/** `GET /` and `/status`: the page for a session, else the sign-in form. */
function pageHandler(deps: StatusPageDeps): RequestHandler {
  return async (req, res) => {
    const session = sessionOf(res);
    if (!session) {
      const fromElsewhere = req.get('sec-fetch-site') === 'cross-site' && req.get('sec-fetch-mode') === 'navigate';
      res.type('html').send(fromElsewhere ? reloadPage() : signInPage());
      return;
    }
    try {
      res.type('html').send(statusPage(await readStatus(deps, session), session.csrfToken));
    } catch (err) {
      const { status, error } = toErrorAnswer(err);
      sendLoginPage(res, { status, title: 'Status unavailable', message: `${error}. Reload the page in a moment.` });
    }
  };
}

/**
 * The operator's status page, served by the gateway: the page (`/`, `/status`), its script and
 * stylesheet, sign-in and sign-out, its data (`/status/data`), live outcomes (`/status/events`) and
 * its actions under `/status/api`: the API's own refresh, refresh-failed, rejection and login-link
 * routes, reached with the session cookie instead of a bearer key, each with the CSRF check. The
 * `/api/integration` routes are not touched: they know nothing of sessions.
 */
export function statusPageRoutes(deps: StatusPageDeps): Router {
  const sessions = deps.sessions ?? createSessionStore();
  const hub = createEventHub(deps.nc, deps.log);
  deps.shutdownSignal?.addEventListener('abort', () => hub.close(), { once: true });

  const router = Router();
  const page = pageHandler(deps);
  // Only `/` itself and `/status/*`: the API's routes keep their own headers, untouched.
  const pageHeaders = [statusCsp, noStore, attachSession(sessions)];
  router.get('/', ...pageHeaders, page);
  router.get('/status/app.js', statusCsp, serveScript);
  router.get('/status/app.css', statusCsp, serveStyles);
  router.use('/status', ...pageHeaders);
  router.get('/status', page);
  router.use(signInRoutes({ apiKeys: deps.apiKeys, sessions, log: deps.log, ...(deps.slowdown ? { slowdown: deps.slowdown } : {}) }));

  router.get('/status/data', requireSession, ...deps.allow(Scope.Read), async (_req, res) => {
    res.json(await readStatus(deps, sessionOf(res)!));
  });
  router.get('/status/events', requireSession, ...deps.allow(Scope.Read), (_req, res) => {
    if (!hub.listen(res, sessionOf(res)!)) res.status(503).set('Retry-After', '30').json({ success: false, error: 'Too many listeners' });
  });
  router.use(
    '/status/api',
    requireSession,
    requireCsrf,
    express.json({ limit: '16kb' }),
    refreshRoutes(deps),
    refreshFailedRoutes(deps),
    rejectionRoutes(deps),
    iiflLoginRoutes(deps),
  );
  return router;
}
