// The v1 headless login of the existing system: get/enckey, validatepassword, validatetotp.
import { badRequest, sessionNotValid, step } from './answers.ts';
import { jsonPost, oneFieldPost, strings, type Endpoint, type EndpointDeps } from './endpoint.ts';
import { appKeyAccount, authCodeStep, identifyPassword, passwordStep, tokenOf } from './headless-steps.ts';
import { checkTotp, countTotpAttempt, keyExchange, TOTP_REFUSALS } from './login-steps.ts';
import type { LoginToken } from './login-state.ts';

const enckey = (deps: EndpointDeps): Endpoint => oneFieldPost('enckey', '/v1/get/enckey', 'ceData', (ceData) => keyExchange(deps, ceData));

function validatePassword(deps: EndpointDeps): Endpoint {
  const missing = 'clientId and password (strings) are required in cEncData';
  return jsonPost({
    name: 'validatepassword',
    path: '/v1/validatepassword',
    seal: 'shape',
    passwordStep: true,
    identify: (call) => identifyPassword(deps, call, 'clientId', deps.knobs().minKeyAssociationMs, missing),
    handle: (call) => passwordStep(deps, call, 'v1', (token) => step({ token })),
  });
}

interface TotpPrepared {
  clientId: string;
  totp: string;
  appKey: string;
  login: LoginToken | undefined;
}

function validateTotp(deps: EndpointDeps): Endpoint {
  return jsonPost({
    name: 'validatetotp',
    path: '/v1/validatetotp',
    seal: 'shape',
    keepsLogin: TOTP_REFUSALS,
    identify(call) {
      const fields = strings(call.body, 'clientId', 'totp', 'appKey');
      if (!fields) return badRequest('clientId, totp and appKey (strings) are required');
      call.clientId = fields.clientId;
      countTotpAttempt(deps, fields.clientId);
      call.prepared = { ...fields, login: tokenOf(deps, call, fields.clientId, 'v1') } satisfies TotpPrepared;
      return undefined;
    },
    handle(call) {
      const { clientId, totp, appKey, login } = call.prepared as TotpPrepared;
      if (!login) return sessionNotValid();
      const registered = appKeyAccount(deps, call, clientId, appKey);
      if ('refusal' in registered) return registered.refusal;
      // A refused code leaves the login token usable (TOTP_REFUSALS).
      return checkTotp(deps, registered, totp) ?? authCodeStep(deps, call, registered, login);
    },
  });
}

export function v1Endpoints(deps: EndpointDeps): Endpoint[] {
  return [enckey(deps), validatePassword(deps), validateTotp(deps)];
}
