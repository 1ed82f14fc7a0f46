// The second headless variant (spec, "A second headless variant"): vendor details and vendor
// authorize on the API host, key exchange, password and TOTP on the idaas host (`/v2/access`),
// where every answer after the key exchange is sealed for the client.
import { badRequest, coded, OK, okResult, plain, sessionNotValid, step } from './answers.ts';
import { jsonPost, oneFieldPost, strings, type Endpoint, type EndpointDeps } from './endpoint.ts';
import {
  appKeyAccount,
  authCodeStep,
  identifyPassword,
  openFields,
  passwordStep,
  refuse,
  tokenOf,
  type Prepared,
} from './headless-steps.ts';
import { checkTotp, countTotpAttempt, keyExchange, TOTP_REFUSALS } from './login-steps.ts';
import type { LoginToken } from './login-state.ts';

export const IDAAS_PREFIX = '/v2/access';

function vendorDetails(deps: EndpointDeps): Endpoint {
  return oneFieldPost('vendor-details', '/v1/sso/vendor/details', 'vendor', (vendor) => {
    if (vendor === '') return coded('EC053');
    if (!deps.accounts.hasAppKey(vendor)) return coded('EC054');
    return step({ vendor, vendorName: 'IIFL simulator app', status: 'Success' });
  });
}

function encKey(deps: EndpointDeps): Endpoint {
  return oneFieldPost('v2-enckey', `${IDAAS_PREFIX}/get/encKey`, 'ceData', (ceData) => {
    const outcome = keyExchange(deps, ceData);
    return outcome.kind === 'keyExchange' ? plain({ cPubKey: outcome.serverPub }) : outcome;
  });
}

/** The password step (no key-association wait: IIFL's own code makes none). */
function password(deps: EndpointDeps): Endpoint {
  return jsonPost({
    name: 'v2-password',
    path: `${IDAAS_PREFIX}/pwd/validate`,
    seal: 'always',
    passwordStep: true,
    identify: (call) => identifyPassword(deps, call, 'userId', 0, 'userId, password (strings) are required in cEncData'),
    handle: (call) => passwordStep(deps, call, 'v2', (token) => okResult({ token, status: 'Success' })),
  });
}

type TotpPrepared = Prepared<{ userId: string; totp: string; login: LoginToken | undefined }>;

function totp(deps: EndpointDeps): Endpoint {
  const { state, knobs, now } = deps;
  return jsonPost({
    name: 'v2-totp',
    path: `${IDAAS_PREFIX}/topt/verify`,
    seal: 'always',
    keepsLogin: TOTP_REFUSALS,
    identify(call) {
      const fields = openFields(deps, call, 0, ['userId', 'totp'], 'userId, totp (strings) are required in cEncData');
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
    handle(call) {
      const prepared = call.prepared as TotpPrepared;
      if ('error' in prepared) return prepared.error;
      const { userId, login } = prepared;
      if (!login) return sessionNotValid();
      const registered = deps.accounts.get(userId);
      if (!registered) return refuse(call, 'EC002');
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
  });
}

type AuthorizePrepared = { userId: string; vendor: string; access: LoginToken | undefined };

function authorize(deps: EndpointDeps): Endpoint {
  return jsonPost({
    name: 'vendor-authorize',
    path: '/v1/sso/vendor/authorize',
    seal: 'shape',
    identify(call) {
      const fields = strings(call.body, 'userId', 'vendor');
      if (!fields) return badRequest('userId and vendor (strings) are required');
      call.clientId = fields.userId;
      call.prepared = { ...fields, access: tokenOf(deps, call, fields.userId, 'access') } satisfies AuthorizePrepared;
      return undefined;
    },
    handle(call) {
      const { userId, vendor, access } = call.prepared as AuthorizePrepared;
      if (!access) return sessionNotValid();
      const registered = appKeyAccount(deps, call, userId, vendor);
      return 'refusal' in registered ? registered.refusal : authCodeStep(deps, call, registered, access);
    },
  });
}

export function v2Endpoints(deps: EndpointDeps): Endpoint[] {
  return [vendorDetails(deps), encKey(deps), password(deps), totp(deps), authorize(deps)];
}
