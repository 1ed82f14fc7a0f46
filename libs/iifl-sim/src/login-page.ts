// The browser login (spec, "The documented flow"): GET / serves a form; POST / checks the client's
// password and TOTP, then redirects to the app's URL with authCode and clientId, or shows the code.
import type { Outcome } from './answers.ts';
import { clientOrRemote, strings, type Call, type Endpoint, type EndpointDeps } from './endpoint.ts';
import { checkPassword, checkTotp, countTotpAttempt, issueAuthCode } from './login-steps.ts';
import { page, type FormFields } from './pages.ts';

/** The app's parameters of the login, from the query (GET) or the hidden fields (POST). */
function appParams(source: (name: string) => string | undefined): FormFields {
  return {
    appkey: source('appkey') ?? '',
    redirecturl: source('redirecturl') ?? source('redirectUrl') ?? '',
  };
}

/** The redirect URL with authCode and clientId added to its query (existing parameters kept). */
export function withAuthCode(redirect: string, authCode: string, clientId: string): string {
  const hashAt = redirect.indexOf('#');
  const base = hashAt < 0 ? redirect : redirect.slice(0, hashAt);
  const hash = hashAt < 0 ? '' : redirect.slice(hashAt);
  const joiner = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${joiner}authCode=${encodeURIComponent(authCode)}&clientId=${encodeURIComponent(clientId)}${hash}`;
}

function validRedirect(redirect: string): boolean {
  try {
    const url = new URL(redirect);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** The refusal of the app itself (EC053 / EC054, or a redirect URL that is not http(s)), or undefined. */
function appRefusal(deps: EndpointDeps, app: FormFields): Outcome | undefined {
  if (app.appkey === '') return page.error(400, 'EC053');
  if (!deps.accounts.hasAppKey(app.appkey)) return page.error(400, 'EC054');
  if (app.redirecturl !== '' && !validRedirect(app.redirecturl)) {
    return page.error(400, undefined, 'redirect URL must be an http or https URL');
  }
  return undefined;
}

export function loginPageEndpoints(deps: EndpointDeps): Endpoint[] {
  const form: Endpoint = {
    name: 'login-page',
    method: 'GET',
    path: '/',
    body: 'none',
    page: true,
    seal: 'never',
    identify: () => undefined,
    rateKey: clientOrRemote,
    handle(call) {
      const app = appParams((name) => call.query.get(name) ?? undefined);
      return appRefusal(deps, app) ?? page.form(200, app);
    },
  };

  const submit: Endpoint = {
    name: 'login-submit',
    method: 'POST',
    path: '/',
    body: 'form',
    page: true,
    seal: 'never',
    identify(call) {
      const clientId = call.body['clientId'];
      if (typeof clientId === 'string' && clientId !== '') {
        call.clientId = clientId;
        deps.stats.client(clientId).passwordAttempts++;
      }
      return undefined;
    },
    rateKey: clientOrRemote,
    handle: (call) => submitLogin(deps, call),
  };

  return [form, submit];
}

/** Password, then the appKey binding, then the TOTP; a refused credential re-serves the form. */
function submitLogin(deps: EndpointDeps, call: Call): Outcome {
  const app = appParams((name) => (typeof call.body[name] === 'string' ? (call.body[name] as string) : undefined));
  const refused = appRefusal(deps, app);
  if (refused) return refused;
  const fields = strings({ clientId: '', password: '', totp: '', ...call.body }, 'clientId', 'password', 'totp');
  if (!fields || fields.clientId === '') return page.form(200, app, 'EC002');
  const checked = checkPassword(deps, fields.clientId, fields.password);
  if ('refusal' in checked) return page.form(200, { ...app, clientId: fields.clientId }, codeOf(checked.refusal));
  const { registered, loginId } = checked;
  if (registered.account.appKey !== app.appkey) {
    deps.state.endLogin(fields.clientId, loginId);
    return page.error(400, 'EC054');
  }
  countTotpAttempt(deps, fields.clientId);
  const totpRefusal = checkTotp(deps, registered, fields.totp);
  if (totpRefusal) {
    deps.state.endLogin(fields.clientId, loginId);
    return page.form(200, { ...app, clientId: fields.clientId }, codeOf(totpRefusal));
  }
  const authCode = issueAuthCode(deps, registered, loginId, undefined);
  if (app.redirecturl === '') return page.authCode(authCode, fields.clientId);
  return { kind: 'redirect', location: withAuthCode(app.redirecturl, authCode, fields.clientId) };
}

const codeOf = (outcome: Outcome): string => (outcome.kind === 'coded' ? outcome.code : 'EC003');

/** Any other outcome of a page endpoint (a simulated fault, 400, 429) as an error page. */
export function asPage(outcome: Outcome): Outcome {
  if (outcome.kind === 'coded') return page.error(outcome.httpStatus, outcome.code, outcome.message);
  if (outcome.kind === 'notOk') return page.error(outcome.httpStatus, undefined, outcome.message);
  return outcome;
}
