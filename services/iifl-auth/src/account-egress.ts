import type { NatsConnection } from 'nats';
import type { Keyring } from '@refresher/credential-crypto';
import type { Egress } from '@refresher/iifl-client';
import { ServiceCallError } from '@refresher/platform';
import type { EgressPolicy } from './egress.ts';
import { openCredential } from './open-credentials.ts';
import { readCredentials } from './refresh-decision.ts';

/** Where a call made for a user leaves from; rejects when the user's settings cannot be read. */
export type AccountEgress = (userID: string) => Promise<Egress | undefined>;

export class EgressUnknownError extends Error {
  override name = 'EgressUnknownError';
}

/**
 * The egress a login of the user would leave from now, for the calls made later with its token
 * (the day watch's `GET /profile`): IIFL answers those too only from the app's whitelisted
 * addresses. The user's setting and app key are read from persistence as a login reads them, and
 * the one rule (EgressPolicy.forLogin) picks.
 *
 * Read afresh for each call rather than cached: the watch makes one such call per token per
 * interval, so this is one local read per IIFL call, and a user whose egress was changed (a new
 * whitelisted address) is checked from the new one at once, not from the old one until the next
 * login (a 403 each time, no verdict).
 */
export function createAccountEgress(deps: {
  nc: NatsConnection;
  keyring: Keyring | null;
  policy: Pick<EgressPolicy, 'forLogin'>;
  timeoutMs: number;
}): AccountEgress {
  return async (userID) => {
    const read = await readCredentials(deps.nc, userID, deps.timeoutMs);
    if (!read.ok) {
      const code = read.error instanceof ServiceCallError ? ` (${read.error.code})` : '';
      throw new EgressUnknownError(`login settings unavailable${code}`, { cause: read.error });
    }
    const { credentials, egress } = read.answer;
    const appKey = credentials === null ? null : openCredential(deps.keyring, userID, 'appKey', credentials.appKey);
    return deps.policy.forLogin(egress, appKey);
  };
}
