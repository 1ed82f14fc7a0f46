import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { LoginRefusal, UserId } from '@refresher/contracts';

/**
 * The nonce of a login link: `v1.<payload>.<mac>`, base64url parts. The payload names the user, the
 * expiry (epoch ms) and a random id; the MAC is HMAC-SHA256 over the version and payload with
 * LOGIN_LINK_SECRET. Only a holder of the secret can make one; the random id makes each one
 * single-use (the redeemer records it in a KV bucket, see login-links.ts). It carries no secret: it
 * may travel through IIFL and the user's browser.
 */
const VERSION = 'v1';
const MAC_DOMAIN = 'iifl-login-link';
const MAX_NONCE_LENGTH = 1024;
const MAC_BYTES = 32;

const Payload = z.strictObject({
  u: UserId,
  e: z.number().int().positive(),
  n: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
});

export interface NonceClaims {
  userID: string;
  expiresAt: Date;
  /** Random id: the key under which its use is recorded. */
  id: string;
}

export type NonceCheck =
  { ok: true; claims: NonceClaims } | { ok: false; reason: typeof LoginRefusal.LinkInvalid | typeof LoginRefusal.LinkExpired };

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(`${MAC_DOMAIN}.${VERSION}.${payload}`).digest();
}

/** A fresh nonce for `userID`, good for `lifetimeMs`. */
export function signNonce(
  secret: string,
  userID: string,
  lifetimeMs: number,
  now: number = Date.now(),
): { nonce: string; claims: NonceClaims } {
  const claims: NonceClaims = { userID, expiresAt: new Date(now + lifetimeMs), id: randomBytes(16).toString('base64url') };
  const payload = Buffer.from(JSON.stringify(Payload.parse({ u: userID, e: claims.expiresAt.getTime(), n: claims.id }))).toString(
    'base64url',
  );
  return { nonce: `${VERSION}.${payload}.${mac(secret, payload).toString('base64url')}`, claims };
}

/**
 * Checks a nonce's form and MAC (in constant time) before anything it says is believed, then its
 * expiry. Whether it was used before is for the caller to find out (it needs the KV bucket).
 */
export function verifyNonce(secret: string, nonce: string, now: number = Date.now()): NonceCheck {
  const invalid = { ok: false, reason: LoginRefusal.LinkInvalid } as const;
  if (nonce.length > MAX_NONCE_LENGTH) return invalid;
  const parts = nonce.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) return invalid;
  const [, payload, given] = parts as [string, string, string];
  if (!/^[A-Za-z0-9_-]+$/.test(payload) || !/^[A-Za-z0-9_-]+$/.test(given)) return invalid;
  const givenMac = Buffer.from(given, 'base64url');
  // Canonical encoding only: no second spelling of one nonce (base64url's spare bits).
  if (givenMac.length !== MAC_BYTES || givenMac.toString('base64url') !== given) return invalid;
  if (!timingSafeEqual(givenMac, mac(secret, payload))) return invalid;

  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return invalid;
  }
  const parsed = Payload.safeParse(json);
  if (!parsed.success) return invalid;
  if (parsed.data.e <= now) return { ok: false, reason: LoginRefusal.LinkExpired };
  return { ok: true, claims: { userID: parsed.data.u, expiresAt: new Date(parsed.data.e), id: parsed.data.n } };
}
