// The v1 headless login of the existing system: get/enckey, validatepassword, validatetotp.
import { badRequest, coded, sessionNotValid, step, type Outcome } from './answers.ts';
import { clientOrRemote, strings, type Call, type Endpoint, type EndpointDeps } from './endpoint.ts';
import { checkPassword, checkTotp, countTotpAttempt, issueAuthCode, keyExchange, openRequest, TOTP_REFUSALS } from './login-steps.ts';
import type { LoginToken } from './login-state.ts';

function enckey(deps: EndpointDeps): Endpoint {
  return {
    name: 'enckey',
    method: 'POST',
    path: '/v1/get/enckey',
    body: 'json',
    seal: 'never',
    identify: (call) => (typeof call.body['ceData'] === 'string' ? undefined : badRequest('ceData (string) is required')),
    rateKey: clientOrRemote,
    handle: (call) => keyExchange(deps, call.body['ceData'] as string),
  };
}

type PasswordPrepared = { error: Outcome } | { clientId: string; password: string };

function validatePassword(deps: EndpointDeps): Endpoint {
  const { state, stats, knobs } = deps;
  return {
    name: 'validatepassword',
    method: 'POST',
    path: '/v1/validatepassword',
    body: 'json',
    seal: 'shape',
    passwordStep: true,
    identify(call) {
      const cEncData = call.body['cEncData'];
      if (typeof cEncData !== 'string') return badRequest('cEncData (string) is required');
      const opened = openRequest(deps, call, cEncData, knobs().minKeyAssociationMs);
      if ('kind' in opened) return opened;
      if ('error' in opened) {
        call.prepared = opened;
        return undefined;
      }
      const fields = strings(opened.payload, 'clientId', 'password');
      if (!fields) return badRequest('clientId and password (strings) are required in cEncData');
      call.clientId = fields.clientId;
      stats.client(fields.clientId).passwordAttempts++;
      call.prepared = fields satisfies PasswordPrepared;
      return undefined;
    },
    rateKey: clientOrRemote,
    handle(call) {
      const prepared = call.prepared as PasswordPrepared;
      if ('error' in prepared) return prepared.error;
      const checked = checkPassword(deps, prepared.clientId, prepared.password);
      if ('refusal' in checked) return checked.refusal;
      const { loginId, expiresAt } = checked;
      const entry: LoginToken = { clientId: prepared.clientId, loginId, expiresAt, kind: 'v1', clientPub: call.clientPub };
      return step({ token: state.issueToken(entry, knobs().serverKeyTtlMs) });
    },
  };
}

/** The live v1 login token of the call's bearer, when it was issued to this client; wires endLogin. */
function loginOf(deps: EndpointDeps, call: Call, clientId: string): LoginToken | undefined {
  const token = call.bearer;
  const login = token !== undefined ? deps.state.token(token, 'v1') : undefined;
  if (!login || login.clientId !== clientId || token === undefined) return undefined;
  call.clientPub = login.clientPub;
  call.endLogin = () => {
    deps.state.consumeToken(token);
    deps.state.endLogin(login.clientId, login.loginId);
  };
  return login;
}

interface TotpPrepared {
  clientId: string;
  totp: string;
  appKey: string;
  login: LoginToken | undefined;
}

function validateTotp(deps: EndpointDeps): Endpoint {
  return {
    name: 'validatetotp',
    method: 'POST',
    path: '/v1/validatetotp',
    body: 'json',
    seal: 'shape',
    keepsLogin: TOTP_REFUSALS,
    identify(call) {
      const fields = strings(call.body, 'clientId', 'totp', 'appKey');
      if (!fields) return badRequest('clientId, totp and appKey (strings) are required');
      call.clientId = fields.clientId;
      countTotpAttempt(deps, fields.clientId);
      call.prepared = { ...fields, login: loginOf(deps, call, fields.clientId) } satisfies TotpPrepared;
      return undefined;
    },
    rateKey: clientOrRemote,
    handle(call) {
      const { clientId, totp, appKey, login } = call.prepared as TotpPrepared;
      if (!login) return sessionNotValid();
      const registered = deps.accounts.get(clientId);
      let refusal: Outcome | undefined;
      if (!registered) refusal = coded('EC002');
      else if (appKey === '') refusal = coded('EC053');
      else if (appKey !== registered.account.appKey) refusal = coded('EC054');
      if (refusal || !registered) {
        call.endLogin?.();
        return refusal ?? coded('EC002');
      }
      // A refused code leaves the login token usable (TOTP_REFUSALS).
      const totpRefusal = checkTotp(deps, registered, totp);
      if (totpRefusal) return totpRefusal;
      deps.state.consumeToken(call.bearer as string);
      return step({ authCode: issueAuthCode(deps, registered, login.loginId, login.clientPub) });
    },
  };
}

export function v1Endpoints(deps: EndpointDeps): Endpoint[] {
  return [enckey(deps), validatePassword(deps), validateTotp(deps)];
}
