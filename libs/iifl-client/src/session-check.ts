import { FailureCode } from '@refresher/contracts';
import type { KeyObject } from 'node:crypto';
import { IiflError } from './errors.ts';
import type { LoginFlowContext } from './login-flow.ts';

/**
 * The same client id, trimmed and compared without regard to case: IIFL's client ids are
 * upper-case codes, but the ids stored for our users were typed by people and may be in any case.
 */
export function sameClientId(a: string, b: string): boolean {
  return a.trim().toUpperCase() === b.trim().toUpperCase();
}

function unusable(reason: string, from: { brokerCode?: string | null; httpStatus?: number | null; cause?: unknown }): IiflError {
  return new IiflError(`IIFL profile: the new session token ${reason} (${FailureCode.TokenUnusable})`, {
    code: FailureCode.TokenUnusable,
    endpoint: 'profile',
    brokerCode: from.brokerCode ?? null,
    httpStatus: from.httpStatus ?? null,
    ...(from.cause === undefined ? {} : { cause: from.cause }),
  });
}

/**
 * A new session token used once before it counts as a login (`GET /profile`, spec "Limits and
 * lifetime"; one call per session, well within its 3 per second): it must answer, and for the
 * client that logged in. The client id is the profile's `result.clientId` (or the other places
 * `AnswerFields.clientId` lists), the broker's own word with this token; the JWT's
 * `preferred_username` is not used, since its signature cannot be checked here.
 *
 * A dead session (HTTP 401, EC044), any other refusal or an answer without a client id (no
 * credential went out with this call, so none of them is a rejection of the credentials), and a
 * client id that is not the account's: TOKEN_UNUSABLE (retryable; the retry, a whole new login, is
 * the caller's: no credential is resent here). A transient fault of the call (timeout, 5xx, 429,
 * connection error) keeps its own code.
 */
export async function checkNewSession(
  context: LoginFlowContext,
  input: { userID: string; session: string },
  privateKey: KeyObject | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  let clientId: string;
  try {
    clientId = await context.caller.expect(
      {
        endpoint: 'profile',
        method: 'GET',
        url: `${context.config.baseUrl}${context.config.paths.profile}`,
        bearer: input.session,
        // Opens the answer should IIFL ever seal it for the login's key (the spec shows it in clear).
        ...(privateKey ? { privateKey } : {}),
        ...(signal === undefined ? {} : { signal }),
      },
      'clientId',
    );
  } catch (error) {
    if (!(error instanceof IiflError) || error.retryable) throw error;
    // IIFL's code and text without the inner call's own prefix and failure code.
    const detail = error.message.replace(/^IIFL profile: (session invalid: )?/, '').replace(/ \([A-Z_]+\)$/, '');
    const why = error.sessionInvalid ? 'is not valid' : 'was not accepted';
    throw unusable(`${why}: ${detail}`, { brokerCode: error.brokerCode, httpStatus: error.httpStatus, cause: error });
  }
  if (!sameClientId(clientId, input.userID)) {
    // The other client's id stays out of the message: it is not this user's to see.
    throw unusable('answers for another client', { httpStatus: 200 });
  }
}
