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
  createHash('sha256')
    .update(clientId + authCode + appSecret)
    .digest('hex');

/**
 * Everything the simulated broker remembers between calls. A login is "in progress" for a client
 * from its password step until its session is issued, it fails, or its login token / authCode
 * expires.
 */
export class LoginState {
  private readonly exchanges = new Map<string, number>();
  private readonly parsedKeys = new Map<string, KeyObject | null>();
  private readonly tokens = new Map<string, LoginToken>();
  private readonly authCodes = new Map<string, PendingAuthCode>();
  private readonly inProgress = new Map<string, Map<number, number>>();
  private readonly lastTotpCounters = new Map<string, number>();
  private readonly sessions = new Map<string, Session>();
  private readonly currentSession = new Map<string, string>();
  private nextLoginId = 1;
  private writes = 0;

  constructor(
    private readonly now: () => number,
    private readonly signer: SessionSigner,
  ) {}

  private sweep(exchangeTtlMs: number): void {
    const t = this.now();
    for (const [key, issuedAt] of this.exchanges) if (t - issuedAt > exchangeTtlMs) this.exchanges.delete(key);
    for (const [key, entry] of this.tokens) if (entry.expiresAt <= t) this.tokens.delete(key);
    for (const [key, entry] of this.authCodes) if (entry.expiresAt <= t) this.authCodes.delete(key);
  }

  private wrote(exchangeTtlMs: number): void {
    if (++this.writes % SWEEP_EVERY === 0) this.sweep(exchangeTtlMs);
  }

  recordExchange(clientPub: string, exchangeTtlMs: number): void {
    this.exchanges.set(clientPub, this.now());
    this.wrote(exchangeTtlMs);
  }

  exchangeIssuedAt(clientPub: string): number | undefined {
    return this.exchanges.get(clientPub);
  }

  forgetExchange(clientPub: string): void {
    this.exchanges.delete(clientPub);
  }

  /** The client key parsed (once, then cached), or undefined when it does not parse. */
  clientKey(clientPub: string): KeyObject | undefined {
    let key = this.parsedKeys.get(clientPub);
    if (key === undefined) {
      try {
        key = createPublicKey({ key: Buffer.from(clientPub, 'base64'), format: 'der', type: 'spki' });
      } catch {
        key = null;
      }
      if (this.parsedKeys.size >= PARSED_KEYS_MAX) this.parsedKeys.delete(this.parsedKeys.keys().next().value!);
      this.parsedKeys.set(clientPub, key);
    }
    return key ?? undefined;
  }

  /** Registers a login for the client; returns its id and how many are now in progress. */
  startLogin(clientId: string, expiresAt: number): { loginId: number; inProgress: number } {
    const t = this.now();
    let logins = this.inProgress.get(clientId);
    if (!logins) {
      logins = new Map();
      this.inProgress.set(clientId, logins);
    }
    for (const [id, until] of logins) if (until <= t) logins.delete(id);
    const loginId = this.nextLoginId++;
    logins.set(loginId, expiresAt);
    return { loginId, inProgress: logins.size };
  }

  extendLogin(clientId: string, loginId: number, expiresAt: number): void {
    const logins = this.inProgress.get(clientId);
    if (logins?.has(loginId)) logins.set(loginId, expiresAt);
  }

  endLogin(clientId: string, loginId: number): void {
    const logins = this.inProgress.get(clientId);
    if (!logins) return;
    logins.delete(loginId);
    if (logins.size === 0) this.inProgress.delete(clientId);
  }

  issueToken(entry: LoginToken, exchangeTtlMs: number): string {
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, entry);
    this.wrote(exchangeTtlMs);
    return token;
  }

  /** A live token of that kind, or undefined (an expired one is forgotten). */
  token(token: string, kind: TokenKind): LoginToken | undefined {
    const entry = this.tokens.get(token);
    if (entry && entry.expiresAt <= this.now()) {
      this.tokens.delete(token);
      return undefined;
    }
    return entry?.kind === kind ? entry : undefined;
  }

  consumeToken(token: string): void {
    this.tokens.delete(token);
  }

  lastTotpCounter(clientId: string): number | undefined {
    return this.lastTotpCounters.get(clientId);
  }

  acceptTotpCounter(clientId: string, counter: number): void {
    this.lastTotpCounters.set(clientId, counter);
  }

  /** A new authCode, indexed by the checksum the client must send for it. */
  issueAuthCode(entry: PendingAuthCode, appSecret: string, exchangeTtlMs: number): string {
    const authCode = randomBytes(16).toString('hex');
    this.authCodes.set(checksumOf(entry.clientId, authCode, appSecret), entry);
    this.wrote(exchangeTtlMs);
    return authCode;
  }

  /** The pending authCode behind a checksum; `expired` when it is past its time (then forgotten). */
  authCodeFor(checksum: string): PendingAuthCode | 'expired' | undefined {
    const entry = this.authCodes.get(checksum);
    if (entry && entry.expiresAt <= this.now()) {
      this.authCodes.delete(checksum);
      return 'expired';
    }
    return entry;
  }

  consumeAuthCode(checksum: string): void {
    this.authCodes.delete(checksum);
  }

  /** Issues a session; an older session of the same client ends. */
  issueSession(clientId: string, rule: SessionExp): string {
    const { token, claims } = this.signer.sign(clientId, this.now(), rule);
    const previous = this.currentSession.get(clientId);
    if (previous !== undefined) this.sessions.delete(previous);
    this.sessions.set(token, { clientId, claims });
    this.currentSession.set(clientId, token);
    return token;
  }

  /** The client's newest session while it lives. */
  currentSessionOf(clientId: string): string | undefined {
    const token = this.currentSession.get(clientId);
    return token !== undefined && this.session(token) ? token : undefined;
  }

  /** A live session, or undefined (an expired one is forgotten). */
  session(token: string): Session | undefined {
    const entry = this.sessions.get(token);
    if (entry?.claims.exp !== undefined && entry.claims.exp * 1000 <= this.now()) {
      this.endSession(token);
      return undefined;
    }
    return entry;
  }

  endSession(token: string): void {
    const entry = this.sessions.get(token);
    if (!entry) return;
    this.sessions.delete(token);
    if (this.currentSession.get(entry.clientId) === token) this.currentSession.delete(entry.clientId);
  }
}
