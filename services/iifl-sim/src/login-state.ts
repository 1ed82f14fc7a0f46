import { createHash, randomBytes } from 'node:crypto';
import { signSession, type SessionClaims } from './session-token.ts';

interface LoginToken {
  clientId: string;
  loginId: number;
  expiresAt: number;
}
interface PendingAuthCode {
  clientId: string;
  loginId: number;
  expiresAt: number;
}
export interface Session {
  clientId: string;
  claims: SessionClaims;
}

const SWEEP_EVERY = 2048;

export const checksumOf = (clientId: string, authCode: string, appSecret: string): string =>
  createHash('sha256').update(clientId + authCode + appSecret).digest('hex');

/**
 * Everything the simulated broker remembers between calls. A login is "in progress" for a client
 * from its password step until its session is issued, it fails, or its login token / authCode
 * expires.
 */
export function createLoginState(now: () => number) {
  const exchanges = new Map<string, number>();
  const loginTokens = new Map<string, LoginToken>();
  const authCodes = new Map<string, PendingAuthCode>();
  const inProgress = new Map<string, Map<number, number>>();
  const lastTotpCounter = new Map<string, number>();
  const sessions = new Map<string, Session>();
  const currentSession = new Map<string, string>();
  const jwtSecret = randomBytes(32);
  let nextLoginId = 1;
  let writes = 0;

  function sweep(exchangeTtlMs: number): void {
    const t = now();
    for (const [key, issuedAt] of exchanges) if (t - issuedAt > exchangeTtlMs) exchanges.delete(key);
    for (const [key, entry] of loginTokens) if (entry.expiresAt <= t) loginTokens.delete(key);
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

    issueLoginToken(clientId: string, loginId: number, expiresAt: number, exchangeTtlMs: number): string {
      const token = randomBytes(24).toString('base64url');
      loginTokens.set(token, { clientId, loginId, expiresAt });
      wrote(exchangeTtlMs);
      return token;
    },
    /** A live login token, or undefined (an expired one is forgotten). */
    loginToken(token: string): LoginToken | undefined {
      const entry = loginTokens.get(token);
      if (entry && entry.expiresAt <= now()) {
        loginTokens.delete(token);
        return undefined;
      }
      return entry;
    },
    consumeLoginToken(token: string): void {
      loginTokens.delete(token);
    },

    lastTotpCounter(clientId: string): number | undefined {
      return lastTotpCounter.get(clientId);
    },
    acceptTotpCounter(clientId: string, counter: number): void {
      lastTotpCounter.set(clientId, counter);
    },

    /** A new authCode, indexed by the checksum the client must send for it. */
    issueAuthCode(clientId: string, appSecret: string, loginId: number, expiresAt: number, exchangeTtlMs: number): string {
      const authCode = randomBytes(16).toString('hex');
      authCodes.set(checksumOf(clientId, authCode, appSecret), { clientId, loginId, expiresAt });
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
    issueSession(clientId: string): string {
      const { token, claims } = signSession(jwtSecret, clientId, now());
      const previous = currentSession.get(clientId);
      if (previous !== undefined) sessions.delete(previous);
      sessions.set(token, { clientId, claims });
      currentSession.set(clientId, token);
      return token;
    },
    /** A live session, or undefined (an expired one is forgotten). */
    session(token: string): Session | undefined {
      const entry = sessions.get(token);
      if (entry && entry.claims.exp * 1000 <= now()) {
        endSession(token);
        return undefined;
      }
      return entry;
    },
    endSession,
  };
}
export type LoginState = ReturnType<typeof createLoginState>;
