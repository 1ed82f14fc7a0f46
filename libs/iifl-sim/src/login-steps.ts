// The rules the v1 and v2 headless logins and the login page share: key exchange, opening a
// request envelope, the account checks of a password step, the TOTP check, issuing an authCode.
import { badRequest, coded, type Outcome } from './answers.ts';
import type { Call, EndpointDeps, RegisteredAccount } from './endpoint.ts';
import { BadEnvelopeError, decryptEnvelope, splitEnvelope } from './envelope.ts';
import { hotp, totpCounter } from './totp.ts';

const RSA_ENCRYPTION_OID = Buffer.from('06092a864886f70d010101', 'hex');

/**
 * A structural check of a base64 SPKI DER RSA key (a DER SEQUENCE naming rsaEncryption). Parsing
 * the key fully costs more CPU than the rest of the key exchange; it is parsed only to seal answers.
 */
function looksLikeRsaSpki(base64: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return false;
  const der = Buffer.from(base64, 'base64');
  return der.length >= 64 && der[0] === 0x30 && der.subarray(0, 32).includes(RSA_ENCRYPTION_OID);
}

/** The key exchange (v1 and v2): EC056 empty; EC062 not an RSA key; else remembered with its time. */
export function keyExchange(deps: EndpointDeps, ceData: string): Outcome {
  if (ceData === '') return coded('EC056');
  if (deps.state.exchangeIssuedAt(ceData) === undefined && !looksLikeRsaSpki(ceData)) return coded('EC062');
  deps.state.recordExchange(ceData, deps.knobs().serverKeyTtlMs);
  deps.stats.counters.keyExchanges++;
  return { kind: 'keyExchange', serverPub: deps.serverPublicKey };
}

export type Opened = { error: Outcome } | { payload: Record<string, unknown> };

/**
 * Opens a `cEncData` envelope. EC057 when empty; EC062 when it does not split, names a client key
 * never exchanged or exchanged longer than `serverKeyTtlMs` ago, comes sooner than `associationMs`
 * after the exchange, or does not decrypt to JSON (answered by handle()). JSON that is not an object
 * is a bad request, answered at once. Sets `call.clientPub` once the key is a live
 * exchange (answers may then be sealed for it).
 */
export function openRequest(deps: EndpointDeps, call: Call, cEncData: string, associationMs: number): Opened | Outcome {
  if (cEncData === '') return { error: coded('EC057') };
  let parts;
  try {
    parts = splitEnvelope(cEncData);
  } catch {
    return { error: coded('EC062') };
  }
  const issuedAt = deps.state.exchangeIssuedAt(parts.clientPub);
  if (issuedAt === undefined) return { error: coded('EC062') };
  const age = deps.now() - issuedAt;
  if (age > deps.knobs().serverKeyTtlMs) {
    deps.state.forgetExchange(parts.clientPub);
    return { error: coded('EC062') };
  }
  call.clientPub = parts.clientPub;
  if (age < associationMs) return { error: coded('EC062') };
  let payload: unknown;
  try {
    payload = JSON.parse(decryptEnvelope(deps.serverPrivateKey, parts));
  } catch (err) {
    if (err instanceof BadEnvelopeError || err instanceof SyntaxError) return { error: coded('EC062') };
    throw err;
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return badRequest('cEncData must hold a JSON object');
  }
  return { payload: payload as Record<string, unknown> };
}

/**
 * A password step's account rules: starts a login for the client (counted in the stats), then
 * EC002 unknown client, EC004 blocked, EC016 wrong password (each ends the login again).
 */
export function checkPassword(
  deps: EndpointDeps,
  clientId: string,
  password: string,
): { refusal: Outcome } | { registered: RegisteredAccount; loginId: number; expiresAt: number } {
  const expiresAt = deps.now() + deps.knobs().loginTokenTtlMs;
  const login = deps.state.startLogin(clientId, expiresAt);
  deps.stats.counters.loginsStarted++;
  deps.stats.concurrentLogins(clientId, login.inProgress);
  const registered = deps.accounts.get(clientId);
  let refusal: Outcome | undefined;
  if (!registered) refusal = coded('EC002');
  else if (registered.account.blocked) refusal = coded('EC004');
  else if (registered.account.password !== password) refusal = coded('EC016');
  if (refusal || !registered) {
    deps.state.endLogin(clientId, login.loginId);
    return { refusal: refusal ?? coded('EC002') };
  }
  return { registered, loginId: login.loginId, expiresAt };
}

/**
 * The TOTP refusals after which the login token stays usable until it expires, so that the one
 * more try the spec allows for EC036 (in the next step) needs no second password step.
 */
export const TOTP_REFUSALS = ['EC034', 'EC036'] as const;

/** Counts a TOTP attempt for the client at the current step of the simulator clock. */
export function countTotpAttempt(deps: EndpointDeps, clientId: string): void {
  deps.stats.totpAttempt(clientId, totpCounter(deps.now()));
}

/**
 * RFC 6238 with the step either side: EC034 empty, EC036 wrong or of a step not later than the
 * last one accepted for the client (a reuse). Accepts the step on success.
 */
export function checkTotp(deps: EndpointDeps, registered: RegisteredAccount, code: string): Outcome | undefined {
  if (code === '') return coded('EC034');
  const clientId = registered.account.clientId;
  const current = totpCounter(deps.now());
  const last = deps.state.lastTotpCounter(clientId) ?? -Infinity;
  let reused = false;
  for (const counter of [current, current - 1, current + 1]) {
    if (hotp(registered.totpKey, counter) !== code) continue;
    if (counter > last) {
      deps.state.acceptTotpCounter(clientId, counter);
      return undefined;
    }
    reused = true;
  }
  if (reused) deps.stats.counters.totpStepReuse++;
  return coded('EC036');
}

/** A new authCode for a login; the login stays in progress until the code is used or expires. */
export function issueAuthCode(deps: EndpointDeps, registered: RegisteredAccount, loginId: number, clientPub: string | undefined): string {
  const k = deps.knobs();
  const clientId = registered.account.clientId;
  const expiresAt = deps.now() + k.authCodeTtlMs;
  const authCode = deps.state.issueAuthCode({ clientId, loginId, expiresAt, clientPub }, registered.account.appSecret, k.serverKeyTtlMs);
  deps.state.extendLogin(clientId, loginId, expiresAt);
  return authCode;
}
