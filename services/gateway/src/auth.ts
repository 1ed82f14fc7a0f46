import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

const BEARER = /^Bearer +(.+)$/i;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Checks an `Authorization` header against the API key. Both sides are hashed first, so the
 * comparison is constant-time and independent of the lengths; a missing or malformed header costs
 * the same work as a wrong key.
 */
export function createApiKeyVerifier(apiKey: string): (authorization: string | undefined) => boolean {
  if (apiKey.length === 0) throw new TypeError('the API key must not be empty');
  const expected = digest(apiKey);
  return (authorization) => {
    const match = typeof authorization === 'string' ? BEARER.exec(authorization) : null;
    const presented = digest(match?.[1] ?? '');
    const equal = timingSafeEqual(presented, expected);
    return match !== null && equal;
  };
}

export const UNAUTHORIZED_BODY = Object.freeze({ success: false, error: 'Unauthorized' });

/** The same 401 for a missing, malformed or wrong key. */
export function requireApiKey(apiKey: string): RequestHandler {
  const verify = createApiKeyVerifier(apiKey);
  return (req, res, next) => {
    if (verify(req.headers.authorization)) {
      next();
      return;
    }
    res.status(401).set('WWW-Authenticate', 'Bearer').json(UNAUTHORIZED_BODY);
  };
}
