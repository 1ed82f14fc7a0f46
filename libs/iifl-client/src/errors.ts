import { FailureCode, isRetryableFailure } from '@refresher/contracts';
import { extractBrokerCode, extractBrokerMessage, failureForBrokerCode, SESSION_INVALID_CODE } from './broker-codes.ts';
import type { IiflErrorShape } from './types.ts';

/** The IIFL calls, named as in error messages and the simulator's inject knob. */
export const IiflEndpoint = {
  EncKey: 'enckey',
  ValidatePassword: 'validatepassword',
  ValidateTotp: 'validatetotp',
  UserSession: 'getusersession',
  Profile: 'profile',
  Logout: 'logout',
  VendorDetails: 'vendor-details',
  V2EncKey: 'v2-enckey',
  V2Password: 'v2-password',
  V2Totp: 'v2-totp',
  VendorAuthorize: 'vendor-authorize',
} as const;
export type IiflEndpoint = (typeof IiflEndpoint)[keyof typeof IiflEndpoint];

/**
 * What a call risks. `pre-credential`: nothing secret sent yet, so an answer we do not understand
 * may be retried. `credential`: a password, TOTP code, login token or checksum goes out, so only
 * answers known to be transient are retried. `session`: a call made with a session token.
 */
export type StepKind = 'pre-credential' | 'credential' | 'session';

export const STEP_KINDS: Readonly<Record<IiflEndpoint, StepKind>> = {
  enckey: 'pre-credential',
  'vendor-details': 'pre-credential',
  'v2-enckey': 'pre-credential',
  validatepassword: 'credential',
  validatetotp: 'credential',
  getusersession: 'credential',
  'v2-password': 'credential',
  'v2-totp': 'credential',
  'vendor-authorize': 'credential',
  profile: 'session',
  logout: 'session',
};

export interface IiflErrorOptions {
  code: FailureCode;
  brokerCode?: string | null;
  endpoint?: IiflEndpoint | null;
  httpStatus?: number | null;
  /** From IIFL's `Retry-After`: wait at least this long before the next attempt. */
  retryAfterMs?: number | null;
  cause?: unknown;
}

/** Every failure of a client call. `message` carries IIFL's code and text, never a secret. */
export class IiflError extends Error implements IiflErrorShape {
  override name = 'IiflError';
  readonly code: FailureCode;
  readonly brokerCode: string | null;
  readonly retryable: boolean;
  readonly endpoint: IiflEndpoint | null;
  readonly httpStatus: number | null;
  readonly retryAfterMs: number | null;
  /** True only for {@link IiflSessionInvalidError}: the token given to the call is dead. */
  readonly sessionInvalid: boolean = false;

  constructor(message: string, options: IiflErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.brokerCode = options.brokerCode ?? null;
    this.endpoint = options.endpoint ?? null;
    this.httpStatus = options.httpStatus ?? null;
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.retryable = isRetryableFailure(options.code);
  }
}

/**
 * HTTP 401 or EC044 on a call made with a session token (profile, logout): the session is dead.
 * FailureCode is fixed in contracts, so the code is UNEXPECTED_RESPONSE; `sessionInvalid` tells it
 * apart, and `retryable` is false because repeating the call with the same token cannot help.
 */
export class IiflSessionInvalidError extends IiflError {
  override name = 'IiflSessionInvalidError';
  override readonly sessionInvalid = true;
  override readonly retryable = false;

  constructor(message: string, options: Omit<IiflErrorOptions, 'code'>) {
    super(message, { ...options, code: FailureCode.UnexpectedResponse });
  }
}

export function isIiflError(error: unknown): error is IiflError {
  return error instanceof IiflError;
}

export interface BrokerAnswer {
  endpoint: IiflEndpoint;
  httpStatus: number;
  /** The parsed JSON body (opened when sealed), or undefined when the body was not JSON. */
  body: unknown;
  retryAfterMs?: number | null;
  /** What was wrong when IIFL gave no message (for example "answer lacks userSession"). */
  reason?: string;
}

function describe(endpoint: IiflEndpoint, parts: Array<string | null>, code: FailureCode): string {
  return `IIFL ${endpoint}: ${parts.filter((p) => p).join(' ')} (${code})`;
}

/** The failure code of an answer that is not a success, by the rules of the spec's table. */
function classify(kind: StepKind, httpStatus: number, brokerCode: string | null): FailureCode {
  const known = brokerCode ? failureForBrokerCode(brokerCode) : null;
  if (known) return known;
  if (httpStatus === 429) return FailureCode.RateLimited;
  if (httpStatus >= 500) return FailureCode.BrokerUnavailable;
  // How IIFL refuses a caller it does not whitelist is undocumented: never resend on a 401/403.
  if (httpStatus === 401 || httpStatus === 403) return FailureCode.IpNotAuthorised;
  return kind === 'pre-credential' ? FailureCode.UnexpectedResponse : FailureCode.BrokerRejected;
}

/**
 * Turns an answer that is not a success into an IiflError. A known `ECnnn` wins over the HTTP
 * status; then 429, 5xx, 401/403; anything else is not understood: UNEXPECTED_RESPONSE (retryable)
 * before a credential was sent, BROKER_REJECTED (never resent) once one was.
 */
export function errorFromAnswer(answer: BrokerAnswer): IiflError {
  const { endpoint, httpStatus, body } = answer;
  const kind = STEP_KINDS[endpoint];
  const brokerCode = extractBrokerCode(body);
  const brokerMessage = extractBrokerMessage(body);
  const httpPart = httpStatus >= 200 && httpStatus < 300 ? null : `HTTP ${httpStatus}`;
  const detail = body === undefined ? 'response is not JSON' : (brokerMessage ?? answer.reason ?? null);
  const common = { endpoint, httpStatus, retryAfterMs: answer.retryAfterMs ?? null };

  if (kind === 'session' && (brokerCode === SESSION_INVALID_CODE || httpStatus === 401)) {
    return new IiflSessionInvalidError(
      describe(endpoint, ['session invalid:', httpPart, brokerCode, detail], FailureCode.UnexpectedResponse),
      { ...common, brokerCode: brokerCode ?? 'HTTP 401' },
    );
  }
  const code = classify(kind, httpStatus, brokerCode);
  return new IiflError(describe(endpoint, [httpPart, brokerCode, detail], code), {
    ...common,
    code,
    brokerCode: brokerCode ?? httpPart ?? null,
  });
}

/** Replaces every occurrence of a secret in a message; secrets shorter than 4 chars are ignored. */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | null | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out;
}

/** Removes every secret from an error's message and stack (and its cause's), in place. */
export function withoutSecrets<E extends Error>(error: E, secrets: ReadonlyArray<string | null | undefined>): E {
  const scrub = (e: Error): void => {
    const message = redactSecrets(e.message, secrets);
    const stack = e.stack === undefined ? undefined : redactSecrets(e.stack, secrets);
    try {
      if (message !== e.message) e.message = message;
      if (stack !== undefined && stack !== e.stack) e.stack = stack;
    } catch {
      // Read-only (a DOMException cause): such errors come from the runtime, not from IIFL's text.
    }
  };
  scrub(error);
  if (error.cause instanceof Error) scrub(error.cause);
  return error;
}
