// The steps the v1 and v2 headless logins both take, whatever their fields are called: reading a
// request envelope's fields, the password step, finding the login token of the call, refusing a
// step (which ends the login), and the last step that answers an authCode.
import { badRequest, coded, step, type Outcome } from './answers.ts';
import { strings, type Call, type EndpointDeps, type RegisteredAccount } from './endpoint.ts';
import { checkPassword, issueAuthCode, openRequest } from './login-steps.ts';
import type { LoginToken, TokenKind } from './login-state.ts';

/** What identify() leaves for handle(): the fields, or a failure handle() answers (after rate limits). */
export type Prepared<T> = { error: Outcome } | T;

/** Opens the call's cEncData and reads string fields; `missing` answers a payload without them. */
export function openFields<K extends string>(
  deps: EndpointDeps,
  call: Call,
  associationMs: number,
  names: K[],
  missing: string,
): Prepared<Record<K, string>> | Outcome {
  const cEncData = call.body['cEncData'];
  if (typeof cEncData !== 'string') return badRequest('cEncData (string) is required');
  const opened = openRequest(deps, call, cEncData, associationMs);
  if ('kind' in opened || 'error' in opened) return opened;
  return strings(opened.payload, ...names) ?? badRequest(missing);
}

type PasswordPrepared = Prepared<{ clientId: string; password: string }>;

/** identify() of a password step: the client id (named `idField`) and password from cEncData; counts the attempt. */
export function identifyPassword<I extends 'clientId' | 'userId'>(
  deps: EndpointDeps,
  call: Call,
  idField: I,
  associationMs: number,
  missing: string,
): Outcome | undefined {
  const fields = openFields(deps, call, associationMs, [idField, 'password'], missing);
  if ('kind' in fields) return fields;
  if ('error' in fields) {
    call.prepared = fields satisfies PasswordPrepared;
    return undefined;
  }
  const clientId = fields[idField];
  call.clientId = clientId;
  deps.stats.client(clientId).passwordAttempts++;
  call.prepared = { clientId, password: fields.password } satisfies PasswordPrepared;
  return undefined;
}

/** handle() of a password step: the account rules, then a login token of `kind`, answered by `answer`. */
export function passwordStep(deps: EndpointDeps, call: Call, kind: TokenKind, answer: (token: string) => Outcome): Outcome {
  const prepared = call.prepared as PasswordPrepared;
  if ('error' in prepared) return prepared.error;
  const checked = checkPassword(deps, prepared.clientId, prepared.password);
  if ('refusal' in checked) return checked.refusal;
  const { loginId, expiresAt } = checked;
  const entry: LoginToken = { clientId: prepared.clientId, loginId, expiresAt, kind, clientPub: call.clientPub };
  return answer(deps.state.issueToken(entry, deps.knobs().serverKeyTtlMs));
}

/** The live token of that kind behind the call's bearer, when issued to this client; wires endLogin. */
export function tokenOf(deps: EndpointDeps, call: Call, clientId: string, kind: TokenKind): LoginToken | undefined {
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

/** Refuses the step with an IIFL code and ends the login the call belongs to. */
export function refuse(call: Call, code: string): Outcome {
  call.endLogin?.();
  return coded(code);
}

/** The account of an appKey step: EC002 unknown client, EC053 empty appKey, EC054 another key (each ends the login). */
export function appKeyAccount(deps: EndpointDeps, call: Call, clientId: string, appKey: string): { refusal: Outcome } | RegisteredAccount {
  const registered = deps.accounts.get(clientId);
  if (!registered) return { refusal: refuse(call, 'EC002') };
  if (appKey === '') return { refusal: refuse(call, 'EC053') };
  if (appKey !== registered.account.appKey) return { refusal: refuse(call, 'EC054') };
  return registered;
}

/** The last step of a headless login: the call's token used up, a new authCode answered. */
export function authCodeStep(deps: EndpointDeps, call: Call, registered: RegisteredAccount, login: LoginToken): Outcome {
  deps.state.consumeToken(call.bearer as string);
  return step({ authCode: issueAuthCode(deps, registered, login.loginId, login.clientPub) });
}
