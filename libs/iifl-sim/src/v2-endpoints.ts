// The second headless variant (spec, "A second headless variant"): vendor details and vendor
// authorize on the API host, key exchange, password and TOTP on the idaas host (`/v2/access`),
// where every answer after the key exchange is sealed for the client.
import { badRequest, coded, plain, sessionNotValid, step, type Outcome } from './answers.ts';
import { clientOrRemote, strings, type Call, type Endpoint, type EndpointDeps } from './endpoint.ts';
import { checkPassword, checkTotp, countTotpAttempt, issueAuthCode, keyExchange, openRequest, TOTP_REFUSALS } from './login-steps.ts';
import type { LoginToken, TokenKind } from './login-state.ts';

export const IDAAS_PREFIX = '/v2/access';
const OK = { status: 'Ok', message: 'Success' } as const;

type Prepared<T> = { error: Outcome } | T;

/** The live token of that kind behind the call's bearer, when issued to this client; wires endLogin. */
function tokenOf(deps: EndpointDeps, call: Call, clientId: string, kind: TokenKind): LoginToken | undefined {
  const token = call.bearer;
  const entry = token !== undefined ? deps.state.token(token, kind) : undefined;
  if (!entry || entry.clientId !== clientId || token === undefined) return undefined;
  call.clientPub ??= entry.clientPub;
  call.endLogin = () => {
    deps.state.consumeToken(token);
    deps.state.endLogin(entry.clientId, entry.loginId);
  };
  return entry;
}

/** Opens the call's cEncData (no key-association wait: IIFL's own code makes none) and reads string fields. */
function openFields<K extends string>(deps: EndpointDeps, call: Call, ...names: K[]): Prepared<Record<K, string>> | Outcome {
  const cEncData = call.body['cEncData'];
  if (typeof cEncData !== 'string') return badRequest('cEncData (string) is required');
  const opened = openRequest(deps, call, cEncData, 0);
  if ('kind' in opened) return opened;
  if ('error' in opened) return opened;
  return strings(opened.payload, ...names) ?? badRequest(`${names.join(', ')} (strings) are required in cEncData`);
}

function vendorDetails(deps: EndpointDeps): Endpoint {
  return {
    name: 'vendor-details',
    method: 'POST',
    path: '/v1/sso/vendor/details',
    body: 'json',
    seal: 'never',
    identify: (call) => (typeof call.body['vendor'] === 'string' ? undefined : badRequest('vendor (string) is required')),
    rateKey: clientOrRemote,
    handle(call) {
      const vendor = call.body['vendor'] as string;
      if (vendor === '') return coded('EC053');
      if (!deps.accounts.hasAppKey(vendor)) return coded('EC054');
      return step({ vendor, vendorName: 'IIFL simulator app', status: 'Success' });
    },
  };
}

function encKey(deps: EndpointDeps): Endpoint {
  return {
    name: 'v2-enckey',
    method: 'POST',
    path: `${IDAAS_PREFIX}/get/encKey`,
    body: 'json',
    seal: 'never',
    identify: (call) => (typeof call.body['ceData'] === 'string' ? undefined : badRequest('ceData (string) is required')),
    rateKey: clientOrRemote,
    handle(call) {
      const outcome = keyExchange(deps, call.body['ceData'] as string);
      return outcome.kind === 'keyExchange' ? plain({ cPubKey: outcome.serverPub }) : outcome;
    },
  };
}

function password(deps: EndpointDeps): Endpoint {
  return {
    name: 'v2-password',
    method: 'POST',
    path: `${IDAAS_PREFIX}/pwd/validate`,
    body: 'json',
    seal: 'always',
    passwordStep: true,
    identify(call) {
      const fields = openFields(deps, call, 'userId', 'password');
      if ('kind' in fields) return fields;
      if ('userId' in fields) {
        call.clientId = fields.userId;
        deps.stats.client(fields.userId).passwordAttempts++;
      }
      call.prepared = fields;
      return undefined;
    },
    rateKey: clientOrRemote,
    handle(call) {
      const prepared = call.prepared as Prepared<{ userId: string; password: string }>;
      if ('error' in prepared) return prepared.error;
      const checked = checkPassword(deps, prepared.userId, prepared.password);
      if ('refusal' in checked) return checked.refusal;
      const { loginId, expiresAt } = checked;
      const entry: LoginToken = { clientId: prepared.userId, loginId, expiresAt, kind: 'v2', clientPub: call.clientPub };
      const token = deps.state.issueToken(entry, deps.knobs().serverKeyTtlMs);
      return plain({ ...OK, result: { token, status: 'Success' } });
    },
  };
}

type TotpPrepared = Prepared<{ userId: string; totp: string; login: LoginToken | undefined }>;

function totp(deps: EndpointDeps): Endpoint {
  const { state, knobs, now } = deps;
  return {
    name: 'v2-totp',
    method: 'POST',
    path: `${IDAAS_PREFIX}/topt/verify`,
    body: 'json',
    seal: 'always',
    keepsLogin: TOTP_REFUSALS,
    identify(call) {
      const fields = openFields(deps, call, 'userId', 'totp');
      if ('kind' in fields) return fields;
      if ('error' in fields) {
        call.prepared = fields;
        return undefined;
      }
      call.clientId = fields.userId;
      countTotpAttempt(deps, fields.userId);
      call.prepared = { ...fields, login: tokenOf(deps, call, fields.userId, 'v2') } satisfies TotpPrepared;
      return undefined;
    },
    rateKey: clientOrRemote,
    handle(call) {
      const prepared = call.prepared as TotpPrepared;
      if ('error' in prepared) return prepared.error;
      const { userId, login } = prepared;
      if (!login) return sessionNotValid();
      const registered = deps.accounts.get(userId);
      if (!registered) {
        call.endLogin?.();
        return coded('EC002');
      }
      // A refused code leaves the login token usable (TOTP_REFUSALS).
      const refusal = checkTotp(deps, registered, prepared.totp);
      if (refusal) return refusal;
      state.consumeToken(call.bearer as string);
      const expiresAt = now() + knobs().loginTokenTtlMs;
      const entry: LoginToken = { clientId: userId, loginId: login.loginId, expiresAt, kind: 'access', clientPub: login.clientPub };
      const accessToken = state.issueToken(entry, knobs().serverKeyTtlMs);
      state.extendLogin(userId, login.loginId, expiresAt);
      return plain({ result: { accessToken, status: 'Success' }, ...OK });
    },
  };
}

type AuthorizePrepared = { userId: string; vendor: string; access: LoginToken | undefined };

function authorize(deps: EndpointDeps): Endpoint {
  return {
    name: 'vendor-authorize',
    method: 'POST',
    path: '/v1/sso/vendor/authorize',
    body: 'json',
    seal: 'shape',
    identify(call) {
      const fields = strings(call.body, 'userId', 'vendor');
      if (!fields) return badRequest('userId and vendor (strings) are required');
      call.clientId = fields.userId;
      call.prepared = { ...fields, access: tokenOf(deps, call, fields.userId, 'access') } satisfies AuthorizePrepared;
      return undefined;
    },
    rateKey: clientOrRemote,
    handle(call) {
      const { userId, vendor, access } = call.prepared as AuthorizePrepared;
      if (!access) return sessionNotValid();
      const registered = deps.accounts.get(userId);
      let refusal: Outcome | undefined;
      if (!registered) refusal = coded('EC002');
      else if (vendor === '') refusal = coded('EC053');
      else if (vendor !== registered.account.appKey) refusal = coded('EC054');
      if (refusal || !registered) {
        call.endLogin?.();
        return refusal ?? coded('EC002');
      }
      deps.state.consumeToken(call.bearer as string);
      return step({ authCode: issueAuthCode(deps, registered, access.loginId, access.clientPub) });
    },
  };
}

export function v2Endpoints(deps: EndpointDeps): Endpoint[] {
  return [vendorDetails(deps), encKey(deps), password(deps), totp(deps), authorize(deps)];
}
