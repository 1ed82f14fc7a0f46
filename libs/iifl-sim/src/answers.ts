import { STATUS_CODES } from 'node:http';

/**
 * IIFL's texts for the codes the simulator answers or can be made to answer, as the spec's table
 * gives them (IIFL's published error-code list). A code outside this table needs a `message` when
 * injected, or gets `Request failed`.
 */
export const IIFL_MESSAGES: Readonly<Record<string, string>> = {
  EC002: 'Client does not exist',
  EC003: 'Something Went Wrong, Please Try After Sometime',
  EC004: 'User blocked',
  EC014: 'account blocked by administrator',
  EC016: 'Invalid userId or password',
  EC034: "'totp' cannot be empty",
  EC036: 'Invalid T-OTP',
  EC043: 'T-OTP not enabled',
  EC044: 'Error : Token is not valid',
  EC053: "'appKey' empty",
  EC054: 'appkey incorrect',
  EC055: 'authorise the application to obtain the auth code',
  EC056: "'ceData' cannot be empty",
  EC057: "'cEncData' cannot be empty",
  EC062: 'Illegal or Expired Encryption key',
  EC063: "'password' should not contain spaces",
  EC069: 'password expired',
  EC075: 'Unauthorized access',
  EC076: 'service not available for your account type',
  EC079: 'password must contain a special character',
  EC081: 'voluntary freeze, login not permitted',
};

export const messageFor = (code: string): string => IIFL_MESSAGES[code] ?? 'Request failed';

/**
 * What an endpoint decided, before it is laid out in the current answer shape (shapes.ts) or as a
 * page (login-page.ts).
 */
export type Outcome =
  /** The key exchange: `{cPubKey}` (documented, sealed) or `result[0].seData` (legacy). */
  | { kind: 'keyExchange'; serverPub: string }
  /** A login step's result: `result: {...}` (documented, sealed) or `result: [{...}]` (legacy). */
  | { kind: 'step'; result: Record<string, unknown> }
  /** The session step: `{status, userSession}` or `result[0].userSession` (legacy). */
  | { kind: 'session'; userSession: string }
  /** The same body in every shape. */
  | { kind: 'plain'; body: Record<string, unknown> }
  /** An IIFL failure with a code. */
  | { kind: 'coded'; code: string; message: string; httpStatus: number }
  /** A failure without a code: `{"status":"Not_Ok","message","result":null}`. */
  | { kind: 'notOk'; httpStatus: number; message: string }
  /** A plain-text answer with no IIFL body at all (the bare 403). */
  | { kind: 'bare'; httpStatus: number; text: string }
  /** A page of the login flow; `code` is what the stats count it as, when it reports a failure. */
  | { kind: 'html'; httpStatus: number; html: string; code?: string }
  | { kind: 'redirect'; location: string };

export const step = (result: Record<string, unknown>): Outcome => ({ kind: 'step', result });
export const plain = (body: Record<string, unknown>): Outcome => ({ kind: 'plain', body });

/** The status and message of every IIFL success. */
export const OK = { status: 'Ok', message: 'Success' } as const;
/** A success with its result, the same in every answer shape. */
export const okResult = (result: Record<string, unknown>): Outcome => plain({ ...OK, result });

export function coded(code: string, message?: string, httpStatus = 200): Outcome {
  return { kind: 'coded', code, message: message ?? messageFor(code), httpStatus };
}

/** A failure without an IIFL code (bad request, rate limit, server error, unknown checksum). */
export function notOk(httpStatus: number, message?: string): Outcome {
  return { kind: 'notOk', httpStatus, message: message ?? STATUS_CODES[httpStatus] ?? 'Request failed' };
}

export const badRequest = (message: string): Outcome => notOk(400, message);
export const sessionNotValid = (): Outcome => coded('EC044', undefined, 401);

/** The HTTP status an outcome is sent with. */
export function httpStatusOf(outcome: Outcome): number {
  switch (outcome.kind) {
    case 'coded':
    case 'notOk':
    case 'bare':
    case 'html':
      return outcome.httpStatus;
    case 'redirect':
      return 302;
    default:
      return 200;
  }
}

/** The key a failure is counted under in the stats; undefined for a success. */
export function failureKey(outcome: Outcome): string | undefined {
  switch (outcome.kind) {
    case 'coded':
      return outcome.code;
    case 'notOk':
      return outcome.httpStatus === 200 ? 'Not_Ok' : `HTTP ${outcome.httpStatus}`;
    case 'bare':
      return `HTTP ${outcome.httpStatus}`;
    case 'html':
      return outcome.code;
    default:
      return undefined;
  }
}
