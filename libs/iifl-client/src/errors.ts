import { FailureCode, isRetryableFailure } from '@refresher/contracts';
import type { IiflErrorShape } from './types.ts';

/** The IIFL calls, named as in error messages and the simulator's inject knob. */
export const IiflEndpoint = {
  EncKey: 'enckey',
  ValidatePassword: 'validatepassword',
  ValidateTotp: 'validatetotp',
  UserSession: 'getusersession',
  Profile: 'profile',
  Logout: 'logout',
} as const;
export type IiflEndpoint = (typeof IiflEndpoint)[keyof typeof IiflEndpoint];

export interface IiflErrorOptions {
  code: FailureCode;
  brokerCode?: string | null;
  endpoint?: IiflEndpoint | null;
  cause?: unknown;
}

/** Every failure of a client call. `message` carries IIFL's code and text, never a secret. */
export class IiflError extends Error implements IiflErrorShape {
  override name = 'IiflError';
  readonly code: FailureCode;
  readonly brokerCode: string | null;
  readonly retryable: boolean;
  readonly endpoint: IiflEndpoint | null;
  /** True only for {@link IiflSessionInvalidError}: the token given to the call is dead. */
  readonly sessionInvalid: boolean = false;

  constructor(message: string, options: IiflErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.brokerCode = options.brokerCode ?? null;
    this.endpoint = options.endpoint ?? null;
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

/** IIFL's login error codes (spec, "Responses and errors") and what each means here. */
export const BROKER_CODE_FAILURES: Readonly<Record<string, FailureCode>> = Object.freeze({
  EC016: FailureCode.BadCredentials,
  EC069: FailureCode.PasswordExpired,
  EC004: FailureCode.AccountBlocked,
  EC014: FailureCode.AccountBlocked,
  EC081: FailureCode.AccountBlocked,
  EC002: FailureCode.ClientNotFound,
  EC034: FailureCode.BadTotp,
  EC036: FailureCode.BadTotp,
  EC043: FailureCode.TotpNotEnabled,
  EC053: FailureCode.AppNotAuthorised,
  EC054: FailureCode.AppNotAuthorised,
  EC055: FailureCode.AppNotAuthorised,
  EC056: FailureCode.EncryptionKeyRejected,
  EC057: FailureCode.EncryptionKeyRejected,
  EC062: FailureCode.EncryptionKeyRejected,
  EC003: FailureCode.BrokerUnavailable,
  EC500: FailureCode.IpNotAuthorised,
});

/** "Token is not valid": a dead session (or login token). */
export const SESSION_INVALID_CODE = 'EC044';

const CODE_PATTERN = /^EC\d{3}$/i;
const MESSAGE_CODE_PATTERN = /^\s*(EC\d{3})\b/i;

function asRecord(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function codeIn(value: unknown): string | null {
  return typeof value === 'string' && CODE_PATTERN.test(value.trim()) ? value.trim().toUpperCase() : null;
}

/** IIFL's own `ECnnn`, from `code`, `result.code`, `result[0].code` or the start of `message`. */
export function extractBrokerCode(body: unknown): string | null {
  const record = asRecord(body);
  if (!record) return null;
  const result = record['result'];
  const first = Array.isArray(result) ? asRecord(result[0]) : asRecord(result);
  const message = typeof record['message'] === 'string' ? record['message'] : '';
  return (
    codeIn(record['code']) ??
    codeIn(first?.['code']) ??
    MESSAGE_CODE_PATTERN.exec(message)?.[1]?.toUpperCase() ??
    null
  );
}

/** IIFL's `message`, trimmed and bounded, with any leading `ECnnn` and separator removed. */
export function extractBrokerMessage(body: unknown): string | null {
  const message = asRecord(body)?.['message'];
  if (typeof message !== 'string' || message.trim() === '') return null;
  const text = message.replace(MESSAGE_CODE_PATTERN, '').replace(/^\s*[:\-–]\s*/, '').trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** The failure for an IIFL `ECnnn`, or null for a code not in the table. */
export function failureForBrokerCode(brokerCode: string): FailureCode | null {
  return BROKER_CODE_FAILURES[brokerCode.toUpperCase()] ?? null;
}

export interface BrokerAnswer {
  endpoint: IiflEndpoint;
  httpStatus: number;
  /** The parsed JSON body, or undefined when the body was not JSON. */
  body: unknown;
  /** Whether the call was made with a session token (profile, logout). */
  withSession?: boolean;
  /** What was wrong when IIFL gave no message (for example "answer lacks userSession"). */
  reason?: string;
}

function describe(endpoint: IiflEndpoint, parts: Array<string | null>, code: FailureCode): string {
  return `IIFL ${endpoint}: ${parts.filter((p) => p).join(' ')} (${code})`;
}

/**
 * Turns an answer that is not a success into an IiflError. A known `ECnnn` wins over the HTTP
 * status (IIFL sends some rejections with 4xx/5xx); then 401, 429 and 5xx; anything else is
 * UNEXPECTED_RESPONSE.
 */
export function errorFromAnswer(answer: BrokerAnswer): IiflError {
  const { endpoint, httpStatus, body } = answer;
  const brokerCode = extractBrokerCode(body);
  const brokerMessage = extractBrokerMessage(body);
  const httpPart = httpStatus === 200 ? null : `HTTP ${httpStatus}`;

  const sessionDead =
    answer.withSession === true && (brokerCode === SESSION_INVALID_CODE || httpStatus === 401);
  if (sessionDead) {
    const code = brokerCode === SESSION_INVALID_CODE ? brokerCode : 'HTTP 401';
    return new IiflSessionInvalidError(
      describe(endpoint, ['session invalid:', httpPart, brokerCode, brokerMessage], FailureCode.UnexpectedResponse),
      { brokerCode: code, endpoint },
    );
  }

  const known = brokerCode ? failureForBrokerCode(brokerCode) : null;
  let code: FailureCode;
  if (known) code = known;
  else if (httpStatus === 429) code = FailureCode.RateLimited;
  else if (httpStatus >= 500) code = FailureCode.BrokerUnavailable;
  else code = FailureCode.UnexpectedResponse;

  const reportedCode = brokerCode ?? (httpStatus === 200 ? null : `HTTP ${httpStatus}`);
  const detail = body === undefined ? 'response is not JSON' : brokerMessage ?? answer.reason ?? null;
  return new IiflError(describe(endpoint, [httpPart, brokerCode, detail], code), {
    code,
    brokerCode: reportedCode,
    endpoint,
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
