import { createHash, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import type { SessionClaims, SessionSigner } from './session-token.ts';
import type { SessionExp } from './types.ts';

/** `v1`: validatepassword -> validatetotp; `v2`: pwd/validate -> topt/verify; `access`: topt/verify -> vendor/authorize. */
export type TokenKind = 'v1' | 'v2' | 'access';

export interface LoginToken {
  clientId: string;
  loginId: number;
  expiresAt: number;
  kind: TokenKind;
  /** The client key of the login's password step (answers to later steps may be sealed for it). */
  clientPub: string | undefined;
}
export interface PendingAuthCode {
  clientId: string;
  loginId: number;
  expiresAt: number;
  clientPub: string | undefined;
}
export interface Session {
  clientId: string;
  claims: SessionClaims;
}

const SWEEP_EVERY = 2048;
const PARSED_KEYS_MAX = 4096;

export const checksumOf = (clientId: string, authCode: string, appSecret: string): string =>
  createHash('sha256').update(clientId + authCode + appSecret).digest('hex');

/**
 * Everything the simulated broker remembers between calls. A login is "in progress" for a client
 * from its password step until its session is issued, it fails, or its login token / authCode
 * expires.
 */
export function createLoginState(now: () => number, signer: SessionSigner) {
  const exchanges = new Map<string, number>();
  const parsedKeys = new Map<string, KeyObject | null>();
  const tokens = new Map<string, LoginToken>();
  const authCodes = new Map<string, PendingAuthCode>();
  const inProgress = new Map<string, Map<number, number>>();
  const lastTotpCounter = new Map<string, number>();
  const sessions = new Map<string, Session>();
  const currentSession = new Map<string, string>();
  let nextLoginId = 1;
  let writes = 0;

  function sweep(exchangeTtlMs: number): void {
    const t = now();
    for (const [key, issuedAt] of exchanges) if (t - issuedAt > exchangeTtlMs) exchanges.delete(key);
    for (const [key, entry] of tokens) if (entry.expiresAt <= t) tokens.delete(key);
    for (const [key, entry] of authCodes) if (entry.expiresAt <= t) authCodes.delete(key);
  }
  function wrote(exchangeTtlMs: number): void {
    if (++writes % SWEEP_EVERY === 0) sweep(exchangeTtlMs);
  }
  function endSession(token: string): void {
    const entry = sessions.get(token);
    if (!entry) return;
    sessions.delete(token);
    if (currentSession.get(entry.clientId) === token) currentSession.delete(entry.clientId);
  }
  /** A live entry of a map with expiries, or undefined (an expired one is forgotten). */
  function live<T extends { expiresAt: number }>(map: Map<string, T>, key: string): T | undefined {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= now()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }

  return {
    recordExchange(clientPub: string, exchangeTtlMs: number): void {
      exchanges.set(clientPub, now());
      wrote(exchangeTtlMs);
    },
    exchangeIssuedAt(clientPub: string): number | undefined {
      return exchanges.get(clientPub);
    },
    forgetExchange(clientPub: string): void {
      exchanges.delete(clientPub);
    },
    /** The client key parsed (once, then cached), or undefined when it does not parse. */
    clientKey(clientPub: string): KeyObject | undefined {
      let key = parsedKeys.get(clientPub);
      if (key === undefined) {
        try {
          key = createPublicKey({ key: Buffer.from(clientPub, 'base64'), format: 'der', type: 'spki' });
        } catch {
          key = null;
        }
        if (parsedKeys.size >= PARSED_KEYS_MAX) parsedKeys.delete(parsedKeys.keys().next().value!);
        parsedKeys.set(clientPub, key);
      }
      return key ?? undefined;
    },

    /** Registers a login for the client; returns its id and how many are now in progress. */
    startLogin(clientId: string, expiresAt: number): { loginId: number; inProgress: number } {
      const t = now();
      let logins = inProgress.get(clientId);
      if (!logins) {
        logins = new Map();
        inProgress.set(clientId, logins);
      }
      for (const [id, until] of logins) if (until <= t) logins.delete(id);
      const loginId = nextLoginId++;
      logins.set(loginId, expiresAt);
      return { loginId, inProgress: logins.size };
    },
    extendLogin(clientId: string, loginId: number, expiresAt: number): void {
      const logins = inProgress.get(clientId);
      if (logins?.has(loginId)) logins.set(loginId, expiresAt);
    },
    endLogin(clientId: string, loginId: number): void {
      const logins = inProgress.get(clientId);
      if (!logins) return;
      logins.delete(loginId);
      if (logins.size === 0) inProgress.delete(clientId);
    },

    issueToken(entry: LoginToken, exchangeTtlMs: number): string {
      const token = randomBytes(24).toString('base64url');
      tokens.set(token, entry);
      wrote(exchangeTtlMs);
      return token;
    },
    /** A live token of that kind, or undefined. */
    token(token: string, kind: TokenKind): LoginToken | undefined {
      const entry = live(tokens, token);
      return entry?.kind === kind ? entry : undefined;
    },
    consumeToken(token: string): void {
      tokens.delete(token);
    },

    lastTotpCounter(clientId: string): number | undefined {
      return lastTotpCounter.get(clientId);
    },
    acceptTotpCounter(clientId: string, counter: number): void {
      lastTotpCounter.set(clientId, counter);
    },

    /** A new authCode, indexed by the checksum the client must send for it. */
    issueAuthCode(entry: PendingAuthCode, appSecret: string, exchangeTtlMs: number): string {
      const authCode = randomBytes(16).toString('hex');
      authCodes.set(checksumOf(entry.clientId, authCode, appSecret), entry);
      wrote(exchangeTtlMs);
      return authCode;
    },
    /** The pending authCode behind a checksum; `expired` when it is past its time (then forgotten). */
    authCodeFor(checksum: string): PendingAuthCode | 'expired' | undefined {
      const entry = authCodes.get(checksum);
      if (entry && entry.expiresAt <= now()) {
        authCodes.delete(checksum);
        return 'expired';
      }
      return entry;
    },
    consumeAuthCode(checksum: string): void {
      authCodes.delete(checksum);
    },

    /** Issues a session; an older session of the same client ends. */
    issueSession(clientId: string, rule: SessionExp): string {
      const { token, claims } = signer.sign(clientId, now(), rule);
      const previous = currentSession.get(clientId);
      if (previous !== undefined) sessions.delete(previous);
      sessions.set(token, { clientId, claims });
      currentSession.set(clientId, token);
      return token;
    },
    /** A live session, or undefined (an expired one is forgotten). */
    session(token: string): Session | undefined {
      const entry = sessions.get(token);
      if (entry?.claims.exp !== undefined && entry.claims.exp * 1000 <= now()) {
        endSession(token);
        return undefined;
      }
      return entry;
    },
    endSession,
  };
}
export type LoginState = ReturnType<typeof createLoginState>;
