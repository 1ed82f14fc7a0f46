import { FailureCode, type InvalidationReason } from '@refresher/contracts';
import { isIiflError, sameClientId, type Egress, type IiflClient } from '@refresher/iifl-client';

/** What one `GET /profile` with a stored token says about it. */
export type Verdict =
  | { kind: 'alive' }
  /** IIFL no longer accepts the token (HTTP 401, EC044), or it belongs to another client. */
  | { kind: 'dead'; reason: InvalidationReason; brokerCode: string | null }
  /** No verdict (a timeout, 5xx, 429, a refusal that is not about the session): ask again next interval. */
  | { kind: 'unknown'; code: string; brokerCode: string | null };

/**
 * Uses the token once (`GET /profile`, spec "Limits and lifetime": a dead token gets 401; EC044 is
 * "Token is not valid"), from the account's egress (account-egress.ts: elsewhere IIFL's whitelist
 * answers a bare 403). Only those two answers, or a profile of another client, make a token dead:
 * anything else may be ours or passing (a timeout, IIFL away, a rate limit, an IP refusal), and
 * declaring a live token dead would start a login for nothing.
 */
export async function probeToken(
  client: Pick<IiflClient, 'checkToken'>,
  userID: string,
  token: string,
  signal: AbortSignal,
  egress?: Egress,
): Promise<Verdict> {
  try {
    const { clientId } = await client.checkToken(token, signal, egress);
    return sameClientId(clientId, userID) ? { kind: 'alive' } : { kind: 'dead', reason: 'WRONG_CLIENT', brokerCode: null };
  } catch (err) {
    if (isIiflError(err) && err.sessionInvalid) return { kind: 'dead', reason: 'SESSION_INVALID', brokerCode: err.brokerCode };
    if (isIiflError(err)) return { kind: 'unknown', code: err.code, brokerCode: err.brokerCode };
    return { kind: 'unknown', code: FailureCode.Internal, brokerCode: null };
  }
}
