import { STATUS_CODES } from 'node:http';

/** Default texts for the IIFL codes the simulator answers or can be made to answer. */
export const IIFL_MESSAGES: Readonly<Record<string, string>> = {
  EC002: 'Client does not exist',
  EC003: 'Something went wrong, please try after some time',
  EC004: 'User is blocked',
  EC014: 'Account is frozen',
  EC016: 'Invalid userId or password',
  EC034: 'T-OTP is empty',
  EC036: 'Invalid T-OTP',
  EC043: 'T-OTP is not enabled for the account',
  EC044: 'Token is not valid',
  EC053: 'appKey is empty',
  EC054: 'Incorrect appKey',
  EC055: 'App is not authorised',
  EC056: 'Encryption data is empty',
  EC057: 'Illegal encryption key',
  EC062: 'Encryption key expired',
  EC069: 'Password expired',
  EC081: 'Account is blocked',
  EC500: 'IP address not authorized',
};

/** What the server sends: an HTTP status and the JSON body. */
export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export function ok(result: unknown, extra: Record<string, unknown> = {}, message = 'Success'): Answer {
  return { status: 200, body: { status: 'Ok', message, result, ...extra } };
}

/** `{status:"Not_Ok", message:"EC016 Invalid userId or password", code:"EC016", result:null}`. */
export function failWithCode(code: string, detail?: string, httpStatus = 200): Answer {
  const text = detail ?? IIFL_MESSAGES[code] ?? 'Request failed';
  return { status: httpStatus, body: { status: 'Not_Ok', message: `${code} ${text}`, code, result: null } };
}

/** A failure without an IIFL code (bad request, rate limit, server error). */
export function fail(httpStatus: number, message?: string): Answer {
  return {
    status: httpStatus,
    body: { status: 'Not_Ok', message: message ?? STATUS_CODES[httpStatus] ?? 'Request failed', result: null },
  };
}

export const sessionNotValid = (): Answer => failWithCode('EC044', undefined, 401);

/** The key a Not_Ok answer is counted under in the stats. */
export function failureKey(answer: Answer): string | undefined {
  if (answer.body['status'] === 'Ok') return undefined;
  const code = answer.body['code'];
  if (typeof code === 'string') return code;
  return answer.status === 200 ? 'Not_Ok' : `HTTP ${answer.status}`;
}
