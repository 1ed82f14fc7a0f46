import type { KeyObject } from 'node:crypto';
import { fail, failWithCode, ok, sessionNotValid, type Answer } from './answers.ts';
import { BadEnvelopeError, decryptEnvelope, splitEnvelope } from './envelope.ts';
import type { LoginState } from './login-state.ts';
import type { StatsRecorder } from './stats.ts';
import { hotp, totpCounter } from './totp.ts';
import type { EndpointName, SimAccount, SimKnobs } from './types.ts';

export interface RegisteredAccount {
  account: SimAccount;
  totpKey: Buffer;
}

export interface EndpointDeps {
  state: LoginState;
  stats: StatsRecorder;
  accounts: Map<string, RegisteredAccount>;
  knobs: () => SimKnobs;
  now: () => number;
  serverPublicKey: string;
  serverPrivateKey: KeyObject;
}

/** One API call as it moves through the server. */
export interface Call {
  body: Record<string, unknown>;
  bearer: string | undefined;
  remote: string;
  /** The client the call is about, once known (used by inject filters, stats and rate limits). */
  clientId?: string;
  /** Ends the login this call belongs to (when the simulator answers it with a failure). */
  endLogin?: () => void;
  /** What identify() worked out for handle(). */
  prepared?: unknown;
}

export interface Endpoint {
  name: EndpointName;
  method: 'GET' | 'POST';
  path: string;
  /** Cheap look-ups that tell who the call is about; may answer 400 at once. */
  identify(call: Call): Answer | undefined;
  rateKey(call: Call): string;
  handle(call: Call): Answer;
}

const badRequest = (message: string): Answer => fail(400, message);
const bearerOf = (call: Call): string => (call.bearer !== undefined ? `bearer:${call.bearer}` : `ip:${call.remote}`);
const clientOrRemote = (call: Call): string =>
  call.clientId !== undefined ? `client:${call.clientId}` : `ip:${call.remote}`;

const RSA_ENCRYPTION_OID = Buffer.from('06092a864886f70d010101', 'hex');

/**
 * A structural check of a base64 SPKI DER RSA key (a DER SEQUENCE naming rsaEncryption). Parsing
 * the key fully costs more CPU than the rest of the key exchange, and the server never uses it.
 */
function looksLikeRsaSpki(base64: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return false;
  const der = Buffer.from(base64, 'base64');
  return der.length >= 64 && der[0] === 0x30 && der.subarray(0, 32).includes(RSA_ENCRYPTION_OID);
}

type PasswordPrepared = { error: Answer } | { clientId: string; password: string };

export function createEndpoints(deps: EndpointDeps): Endpoint[] {
  const { state, stats, accounts, knobs, now } = deps;

  const enckey: Endpoint = {
    name: 'enckey',
    method: 'POST',
    path: '/v1/get/enckey',
    identify(call) {
      return typeof call.body['ceData'] === 'string' ? undefined : badRequest('ceData (string) is required');
    },
    rateKey: clientOrRemote,
    handle(call) {
      const ceData = call.body['ceData'] as string;
      if (ceData === '') return failWithCode('EC056');
      if (state.exchangeIssuedAt(ceData) === undefined && !looksLikeRsaSpki(ceData)) {
        return failWithCode('EC057', 'Illegal encryption key: ceData is not a base64 SPKI DER RSA public key');
      }
      state.recordExchange(ceData, knobs().serverKeyTtlMs);
      stats.counters.keyExchanges++;
      return ok([{ seData: deps.serverPublicKey }], { cPubKey: deps.serverPublicKey });
    },
  };

  function openPasswordEnvelope(cEncData: string): PasswordPrepared | Answer {
    if (cEncData === '') return { error: failWithCode('EC056') };
    let parts;
    try {
      parts = splitEnvelope(cEncData);
    } catch {
      return { error: failWithCode('EC057') };
    }
    const issuedAt = state.exchangeIssuedAt(parts.clientPub);
    const k = knobs();
    if (issuedAt === undefined) return { error: failWithCode('EC062', 'Encryption key expired or unknown') };
    const age = now() - issuedAt;
    if (age > k.serverKeyTtlMs) {
      state.forgetExchange(parts.clientPub);
      return { error: failWithCode('EC062') };
    }
    if (age < k.minKeyAssociationMs) return { error: failWithCode('EC057', 'Illegal encryption key: not yet associated') };
    let payload: unknown;
    try {
      payload = JSON.parse(decryptEnvelope(deps.serverPrivateKey, parts));
    } catch (err) {
      return { error: failWithCode('EC057', err instanceof BadEnvelopeError ? undefined : 'Illegal encryption key: payload is not JSON') };
    }
    if (typeof payload !== 'object' || payload === null) return badRequest('cEncData must hold a JSON object');
    const { clientId, password } = payload as Record<string, unknown>;
    if (typeof clientId !== 'string' || typeof password !== 'string') {
      return badRequest('clientId and password (strings) are required in cEncData');
    }
    return { clientId, password };
  }

  const validatePassword: Endpoint = {
    name: 'validatepassword',
    method: 'POST',
    path: '/v1/validatepassword',
    identify(call) {
      const cEncData = call.body['cEncData'];
      if (typeof cEncData !== 'string') return badRequest('cEncData (string) is required');
      const opened = openPasswordEnvelope(cEncData);
      if ('status' in opened) return opened;
      call.prepared = opened;
      if ('clientId' in opened) {
        call.clientId = opened.clientId;
        stats.client(opened.clientId).passwordAttempts++;
      }
      return undefined;
    },
    rateKey: clientOrRemote,
    handle(call) {
      const prepared = call.prepared as PasswordPrepared;
      if ('error' in prepared) return prepared.error;
      const { clientId, password } = prepared;
      const k = knobs();
      const expiresAt = now() + k.loginTokenTtlMs;
      const login = state.startLogin(clientId, expiresAt);
      stats.counters.loginsStarted++;
      stats.concurrentLogins(clientId, login.inProgress);
      const registered = accounts.get(clientId);
      let refusal: Answer | undefined;
      if (!registered) refusal = failWithCode('EC002');
      else if (registered.account.blocked) refusal = failWithCode('EC004');
      else if (registered.account.password !== password) refusal = failWithCode('EC016');
      if (refusal) {
        state.endLogin(clientId, login.loginId);
        return refusal;
      }
      const token = state.issueLoginToken(clientId, login.loginId, expiresAt, k.serverKeyTtlMs);
      return ok({ token });
    },
  };

  interface TotpPrepared {
    clientId: string;
    totp: string;
    appKey: string;
    login: { clientId: string; loginId: number } | undefined;
  }

  const validateTotp: Endpoint = {
    name: 'validatetotp',
    method: 'POST',
    path: '/v1/validatetotp',
    identify(call) {
      const { clientId, totp, appKey } = call.body;
      if (typeof clientId !== 'string' || typeof totp !== 'string' || typeof appKey !== 'string') {
        return badRequest('clientId, totp and appKey (strings) are required');
      }
      call.clientId = clientId;
      stats.client(clientId).totpAttempts++;
      const login = call.bearer !== undefined ? state.loginToken(call.bearer) : undefined;
      const mine = login && login.clientId === clientId ? login : undefined;
      if (mine && call.bearer !== undefined) {
        const token = call.bearer;
        call.endLogin = () => {
          state.consumeLoginToken(token);
          state.endLogin(mine.clientId, mine.loginId);
        };
      }
      const prepared: TotpPrepared = { clientId, totp, appKey, login: mine };
      call.prepared = prepared;
      return undefined;
    },
    rateKey: clientOrRemote,
    handle(call) {
      const { clientId, totp, appKey, login } = call.prepared as TotpPrepared;
      if (!login) return sessionNotValid();
      const registered = accounts.get(clientId);
      let refusal: Answer | undefined;
      let acceptCounter: number | undefined;
      if (!registered) refusal = failWithCode('EC002');
      else if (appKey === '') refusal = failWithCode('EC053');
      else if (appKey !== registered.account.appKey) refusal = failWithCode('EC054');
      else if (totp === '') refusal = failWithCode('EC034');
      else {
        const current = totpCounter(now());
        const last = state.lastTotpCounter(clientId) ?? -Infinity;
        let reused = false;
        for (const counter of [current, current - 1, current + 1]) {
          if (hotp(registered.totpKey, counter) !== totp) continue;
          if (counter > last) {
            acceptCounter = counter;
            break;
          }
          reused = true;
        }
        if (acceptCounter === undefined) {
          if (reused) stats.counters.totpStepReuse++;
          refusal = failWithCode('EC036', reused ? 'Invalid T-OTP: code already used' : undefined);
        }
      }
      if (refusal || !registered || acceptCounter === undefined) {
        call.endLogin?.();
        return refusal ?? failWithCode('EC036');
      }
      state.acceptTotpCounter(clientId, acceptCounter);
      state.consumeLoginToken(call.bearer as string);
      const k = knobs();
      const expiresAt = now() + k.authCodeTtlMs;
      const authCode = state.issueAuthCode(clientId, registered.account.appSecret, login.loginId, expiresAt, k.serverKeyTtlMs);
      state.extendLogin(clientId, login.loginId, expiresAt);
      return ok({ authCode });
    },
  };

  type SessionPrepared = { checkSum: string; pending: ReturnType<LoginState['authCodeFor']> };

  const getUserSession: Endpoint = {
    name: 'getusersession',
    method: 'POST',
    path: '/v1/getusersession',
    identify(call) {
      const checkSum = call.body['checkSum'];
      if (typeof checkSum !== 'string') return badRequest('checkSum (string) is required');
      const pending = state.authCodeFor(checkSum);
      if (pending && pending !== 'expired') {
        call.clientId = pending.clientId;
        call.endLogin = () => {
          state.consumeAuthCode(checkSum);
          state.endLogin(pending.clientId, pending.loginId);
        };
      }
      const prepared: SessionPrepared = { checkSum, pending };
      call.prepared = prepared;
      return undefined;
    },
    rateKey: clientOrRemote,
    handle(call) {
      const { checkSum, pending } = call.prepared as SessionPrepared;
      if (pending === 'expired') return fail(200, 'authCode expired');
      if (!pending) return fail(200, 'Invalid checksum or authCode');
      state.consumeAuthCode(checkSum);
      state.endLogin(pending.clientId, pending.loginId);
      const userSession = state.issueSession(pending.clientId);
      stats.counters.sessionsIssued++;
      stats.client(pending.clientId).sessionsIssued++;
      return ok(null, { userSession });
    },
  };

  function identifySession(call: Call): undefined {
    const session = call.bearer !== undefined ? state.session(call.bearer) : undefined;
    if (session) call.clientId = session.clientId;
    call.prepared = session;
    return undefined;
  }

  const profile: Endpoint = {
    name: 'profile',
    method: 'GET',
    path: '/v1/profile',
    identify: identifySession,
    rateKey: bearerOf,
    handle(call) {
      if (!call.prepared || call.clientId === undefined) return sessionNotValid();
      const clientId = call.clientId;
      return ok({ clientId, clientName: `Simulated client ${clientId}`, exchanges: ['NSE', 'BSE'] });
    },
  };

  const logout: Endpoint = {
    name: 'logout',
    method: 'POST',
    path: '/v1/profile/logout',
    identify: identifySession,
    rateKey: bearerOf,
    handle(call) {
      if (!call.prepared || call.bearer === undefined) return sessionNotValid();
      state.endSession(call.bearer);
      return ok(null, {}, 'Logged out successfully');
    },
  };

  return [enckey, validatePassword, validateTotp, getUserSession, profile, logout];
}
