import type { KV } from 'nats';
import { LoginRefusal } from '@refresher/contracts';
import { iiflLoginUrl } from '@refresher/iifl-client';
import { signNonce, verifyNonce, type NonceClaims } from './login-nonce.ts';
import { isWrongLastSequence } from './shared-totp-guard.ts';

/** What login links need (config: LOGIN_LINK_SECRET, IIFL_REDIRECT_URL, IIFL_LOGIN_URL, LOGIN_LINK_TTL_MS). */
export interface LoginLinkSettings {
  secret: string;
  /** The gateway's public callback URL; the nonce is added as `?nonce=`. */
  redirectUrl: string;
  /** IIFL's login page. */
  loginUrl: string;
  lifetimeMs: number;
}

/** Bucket of redeemed nonce ids: kept longer than any nonce lives (LOGIN_LINK_TTL_MS is at most 24 h). */
export const NONCE_BUCKET_TTL_MS = 25 * 60 * 60_000;
export const MAX_LINK_LIFETIME_MS = 24 * 60 * 60_000;

export type LinkCheck = { ok: true; claims: NonceClaims } | { ok: false; reason: LoginRefusal };

export interface LoginLinks {
  /** IIFL's login page for the user's browser, returning to the callback with a fresh nonce. */
  make(userID: string, appKey: string): { url: string; expiresAt: Date };
  /** The nonce is ours, not expired, and made for the account IIFL logged in (`clientId`). */
  check(nonce: string, clientId: string): LinkCheck;
  /** Records the nonce as used: false when it had been used before. */
  spend(claims: NonceClaims): Promise<boolean>;
}

const encoder = new TextEncoder();

export function createLoginLinks(settings: LoginLinkSettings, nonces: KV, now: () => number = Date.now): LoginLinks {
  return {
    make(userID, appKey) {
      const { nonce, claims } = signNonce(settings.secret, userID, settings.lifetimeMs, now());
      const callback = new URL(settings.redirectUrl);
      callback.searchParams.set('nonce', nonce);
      return { url: iiflLoginUrl(settings.loginUrl, appKey, callback.toString()), expiresAt: claims.expiresAt };
    },

    check(nonce, clientId) {
      const verified = verifyNonce(settings.secret, nonce, now());
      if (!verified.ok) return verified;
      // IIFL client ids are compared as they are: a link logs in the account it was made for.
      if (verified.claims.userID !== clientId) return { ok: false, reason: LoginRefusal.WrongAccount };
      return verified;
    },

    async spend(claims) {
      try {
        await nonces.create(claims.id, encoder.encode(JSON.stringify({ userID: claims.userID, usedAt: new Date(now()).toISOString() })));
        return true;
      } catch (err) {
        if (isWrongLastSequence(err)) return false;
        throw err;
      }
    },
  };
}
