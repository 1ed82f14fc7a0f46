import type { KeyObject } from 'node:crypto';
import { badRequest, type Outcome } from './answers.ts';
import type { LoginState } from './login-state.ts';
import type { SealPolicy } from './shapes.ts';
import type { StatsRecorder } from './stats.ts';
import type { EndpointName, SimAccount, SimKnobs } from './types.ts';

export interface RegisteredAccount {
  account: SimAccount;
  totpKey: Buffer;
}

/** The accounts, by client id, and which appKeys belong to any of them. */
export interface AccountBook {
  get(clientId: string): RegisteredAccount | undefined;
  hasAppKey(appKey: string): boolean;
}

export interface EndpointDeps {
  state: LoginState;
  stats: StatsRecorder;
  accounts: AccountBook;
  knobs: () => SimKnobs;
  now: () => number;
  serverPublicKey: string;
  serverPrivateKey: KeyObject;
}

/** One API call as it moves through the server. */
export interface Call {
  /** The JSON body, the form fields (`body: 'form'`), or `{}`. */
  body: Record<string, unknown>;
  query: URLSearchParams;
  bearer: string | undefined;
  remote: string;
  /** The client the call is about, once known (used by inject filters, stats and rate limits). */
  clientId?: string;
  /** The client key (base64 SPKI text) the simulator knows for this call: answers may be sealed for it. */
  clientPub?: string | undefined;
  /** Ends the login this call belongs to (when the simulator answers it with a failure). */
  endLogin?: () => void;
  /** What identify() worked out for handle(). */
  prepared?: unknown;
}

export interface Endpoint {
  name: EndpointName;
  method: 'GET' | 'POST';
  path: string;
  /** How the request body is read. */
  body: 'json' | 'form' | 'none';
  /** Answers are pages (the browser login), not JSON. */
  page?: boolean;
  seal: SealPolicy;
  /** A password step: the `passwordForbidden` knob answers it with a bare 403. */
  passwordStep?: boolean;
  /** Codes that refuse the call but leave its login usable (an injected one too); any other failure ends it. */
  keepsLogin?: readonly string[];
  /** Cheap look-ups that tell who the call is about; may answer (400) at once. */
  identify(call: Call): Outcome | undefined;
  rateKey(call: Call): string;
  handle(call: Call): Outcome;
}

export const bearerOf = (call: Call): string => (call.bearer !== undefined ? `bearer:${call.bearer}` : `ip:${call.remote}`);
export const clientOrRemote = (call: Call): string => (call.clientId !== undefined ? `client:${call.clientId}` : `ip:${call.remote}`);

/** The named fields when every one is a string; undefined otherwise. */
export function strings<K extends string>(source: Record<string, unknown>, ...names: K[]): Record<K, string> | undefined {
  const out = {} as Record<K, string>;
  for (const name of names) {
    const value = source[name];
    if (typeof value !== 'string') return undefined;
    out[name] = value;
  }
  return out;
}

/** Most of the API: a POST with a JSON body, rate-limited per client (per address until the client is known). */
export function jsonPost(endpoint: Omit<Endpoint, 'method' | 'body' | 'rateKey'> & Partial<Pick<Endpoint, 'rateKey'>>): Endpoint {
  return { method: 'POST', body: 'json', rateKey: clientOrRemote, ...endpoint };
}

/** identify() of a call that needs one string field in its body: a bad request without it. */
export const requireString =
  (name: string) =>
  (call: Call): Outcome | undefined =>
    typeof call.body[name] === 'string' ? undefined : badRequest(`${name} (string) is required`);

/** An unsealed step that reads one string field of its JSON body and answers from its value. */
export function oneFieldPost(name: EndpointName, path: string, field: string, answer: (value: string) => Outcome): Endpoint {
  return jsonPost({ name, path, seal: 'never', identify: requireString(field), handle: (call) => answer(call.body[field] as string) });
}
