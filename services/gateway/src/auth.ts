import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { FailureSlowdown } from './failure-slowdown.ts';

const BEARER = /^Bearer +(.+)$/i;

/** What a key may do. Each route needs one scope. */
export const Scope = {
  Refresh: 'refresh',
  Read: 'read',
  PushTokens: 'push-tokens',
  ManageUsers: 'manage-users',
} as const;
export type Scope = (typeof Scope)[keyof typeof Scope];
export const SCOPES = Object.values(Scope) as Scope[];

/** The scopes of the legacy routes: what `INTEGRATION_API_KEY` may do. */
export const LEGACY_SCOPES: readonly Scope[] = [Scope.Refresh, Scope.Read, Scope.PushTokens];

/** A configured key: only the SHA-256 digest of the key is held. */
export interface ApiKey {
  name: string;
  scopes: ReadonlySet<Scope>;
  digest: Buffer;
}

export function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export class ApiKeysConfigError extends Error {
  override name = 'ApiKeysConfigError';
}

const ENTRY = /^([A-Za-z0-9_.-]{1,64}):([a-z+-]+):([0-9a-fA-F]{64})$/;

/**
 * `API_KEYS`: entries `name:scope+scope:sha256hex`, separated by commas or whitespace. The digest is
 * `printf %s "$KEY" | sha256sum`, so the configuration never holds a key itself. Two entries with
 * the same name (an old and a new key) make a rotation without downtime.
 */
export function parseApiKeys(text: string): ApiKey[] {
  const keys: ApiKey[] = [];
  const entries = text.split(/[\s,]+/).filter(Boolean);
  entries.forEach((entry, index) => {
    const match = ENTRY.exec(entry);
    if (!match) {
      throw new ApiKeysConfigError(`API_KEYS entry ${index + 1} is not name:scope+scope:sha256hex (64 hex digits)`);
    }
    const [, name, scopeText, hex] = match as unknown as [string, string, string, string];
    const scopes = new Set<Scope>();
    for (const scope of scopeText.split('+')) {
      if (!(SCOPES as string[]).includes(scope)) {
        throw new ApiKeysConfigError(`API_KEYS entry ${index + 1} (${name}): unknown scope "${scope}"; scopes are ${SCOPES.join(', ')}`);
      }
      scopes.add(scope as Scope);
    }
    const keyDigest = Buffer.from(hex, 'hex');
    if (keys.some((k) => k.digest.equals(keyDigest))) {
      throw new ApiKeysConfigError(`API_KEYS entry ${index + 1} (${name}) repeats the digest of another entry`);
    }
    keys.push({ name, scopes, digest: keyDigest });
  });
  return keys;
}

export function legacyApiKey(key: string): ApiKey {
  if (key.length === 0) throw new TypeError('the API key must not be empty');
  return { name: 'legacy', scopes: new Set(LEGACY_SCOPES), digest: digest(key) };
}

/**
 * Finds the configured key an `Authorization` header carries. The presented key is hashed and its
 * digest compared with every configured digest (timingSafeEqual, no early exit), so the time taken
 * tells nothing about which part was wrong; a missing or malformed header costs the same work.
 */
export function createKeyIdentifier(keys: readonly ApiKey[]): (authorization: string | undefined) => ApiKey | null {
  if (keys.length === 0) throw new TypeError('at least one API key is needed');
  return (authorization) => {
    const match = typeof authorization === 'string' ? BEARER.exec(authorization) : null;
    const presented = digest(match?.[1] ?? '');
    let found: ApiKey | null = null;
    for (const key of keys) {
      if (timingSafeEqual(presented, key.digest) && found === null) found = key;
    }
    return match !== null ? found : null;
  };
}

export const UNAUTHORIZED_BODY = Object.freeze({ success: false, error: 'Unauthorized' });
export const FORBIDDEN_BODY = Object.freeze({ success: false, error: 'Forbidden' });

/** The key a request was authenticated with (set by {@link requireApiKey}). */
export function apiKeyOf(req: Request): ApiKey {
  const key = (req as Request & { apiKey?: ApiKey }).apiKey;
  if (!key) throw new Error('route mounted without requireApiKey');
  return key;
}

/**
 * The same 401 for a missing, malformed or wrong key. After a few failures from one client its
 * further failures are answered more and more slowly (see {@link FailureSlowdown}).
 */
export function requireApiKey(keys: readonly ApiKey[], slowdown?: FailureSlowdown): RequestHandler {
  const identify = createKeyIdentifier(keys);
  return (req, res, next) => {
    const key = identify(req.headers.authorization);
    if (key) {
      (req as Request & { apiKey?: ApiKey }).apiKey = key;
      next();
      return;
    }
    const reply = () => {
      if (!res.headersSent && !res.destroyed) res.status(401).set('WWW-Authenticate', 'Bearer').json(UNAUTHORIZED_BODY);
    };
    const delayMs = slowdown?.fail(req.ip ?? req.socket.remoteAddress ?? 'unknown') ?? 0;
    if (delayMs > 0) setTimeout(reply, delayMs).unref();
    else reply();
  };
}

/** 403 when the authenticated key lacks the route's scope. */
export function requireScope(scope: Scope): RequestHandler {
  return (req, res, next) => {
    if (apiKeyOf(req).scopes.has(scope)) {
      next();
      return;
    }
    res.status(403).json(FORBIDDEN_BODY);
  };
}
