import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { ApiKey, Scope } from '../auth.ts';

/** The cookie of a signed-in status page: HttpOnly, SameSite=Strict, Path=/. */
export const SESSION_COOKIE = 'refresher_status';

/** A session lasts a working day at most: sign in before the morning, look at 08:45. */
export const SESSION_TTL_MS = 12 * 3600_000;

/** Sessions held at once per replica; past it the oldest is signed out. */
const MAX_SESSIONS = 1_000;

export interface Session {
  /** The key signed in with: its name and scopes (never the key itself, which the gateway never keeps). */
  key: ApiKey;
  scopes: ReadonlySet<Scope>;
  /** Sent by the page with every state-changing request (`X-CSRF-Token`); not the session id. */
  csrfToken: string;
  expiresAt: number;
}

export interface SessionStore {
  /** Starts a session for `key`; answers the cookie value (a random id) and the session. */
  create(key: ApiKey, now?: number): { id: string; session: Session };
  find(id: string | undefined, now?: number): Session | null;
  remove(id: string | undefined): void;
  size(): number;
}

/** The map holds digests of the ids: a heap dump does not hand out live cookies. */
function idDigest(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('base64url');
}

/**
 * Sessions held in this replica's memory, by a random 256-bit id. Chosen over a signed cookie so
 * that signing out ends a session at once and no new secret has to be configured; the price is that
 * a replica's restart signs everybody out, and that behind several replicas a browser must stay on
 * the one it signed in with (cookie affinity), as services/gateway/README.md says.
 */
export function createSessionStore(ttlMs = SESSION_TTL_MS): SessionStore {
  const sessions = new Map<string, Session>();
  const sweep = (now: number) => {
    for (const [id, s] of sessions) if (s.expiresAt <= now) sessions.delete(id);
    while (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
  };
  return {
    create(key, now = Date.now()) {
      sweep(now);
      const id = randomBytes(32).toString('base64url');
      const session: Session = { key, scopes: key.scopes, csrfToken: randomBytes(32).toString('base64url'), expiresAt: now + ttlMs };
      sessions.set(idDigest(id), session);
      return { id, session };
    },
    find(id, now = Date.now()) {
      if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
      const session = sessions.get(idDigest(id));
      if (!session) return null;
      if (session.expiresAt > now) return session;
      sessions.delete(idDigest(id));
      return null;
    },
    remove(id) {
      if (id) sessions.delete(idDigest(id));
    },
    size: () => sessions.size,
  };
}

/** The session cookie's value in a request, if it carries exactly one. */
export function sessionIdOf(req: Request): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  const values = header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${SESSION_COOKIE}=`))
    .map((part) => part.slice(SESSION_COOKIE.length + 1));
  return values.length === 1 ? values[0] : undefined;
}

/** Secure when the request came over HTTPS (behind a proxy: with TRUST_PROXY set). */
export function setSessionCookie(req: Request, res: Response, id: string, maxAgeMs: number): void {
  res.cookie(SESSION_COOKIE, id, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/', maxAge: maxAgeMs });
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' });
}

/** Compares a presented CSRF token with the session's without telling where they differ. */
export function csrfTokenMatches(session: Session, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(presented, 'utf8');
  const b = Buffer.from(session.csrfToken, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
