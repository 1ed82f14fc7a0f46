import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { KV, NatsConnection } from 'nats';
import { Subjects, TokenRefreshed, type PushTokenRequest, type PushTokenResponse } from '@refresher/contracts';
import { encodeJson, type Logger } from '@refresher/platform';
import type { Database } from '@refresher/db';
import { PublishFailedError, UserNotFoundError } from '../errors.ts';
import { putTokenIfNewer } from '../tokens-kv.ts';
import { createIntegrationManagedUser, findUserForUpdate, writePushedToken } from './user.repository.ts';

const DEFAULT_VALIDITY_MS = 12 * 60 * 60 * 1000;

/**
 * Stores a token a partner pushed, then announces it like a refreshed one (JetStream, message id =
 * event id) and puts it in the KV bucket. The row is written first: a caller that gets an error
 * after that may push again, which writes the same token again.
 */
export async function pushToken(
  deps: { db: Kysely<Database>; nc: NatsConnection; kv: KV; log: Logger },
  request: PushTokenRequest,
  now = new Date(),
): Promise<PushTokenResponse> {
  const tokenValidity = request.tokenValidity ? new Date(request.tokenValidity) : new Date(now.getTime() + DEFAULT_VALIDITY_MS);
  const created = await deps.db.transaction().execute(async (trx) => {
    let createdNow = false;
    if (!(await findUserForUpdate(trx, request.userID))) {
      if (!request.createIfMissing) throw new UserNotFoundError(request.userID);
      createdNow = await createIntegrationManagedUser(trx, {
        userID: request.userID,
        clientName: request.createIfMissing.clientName || request.userID,
        now,
      });
    }
    await writePushedToken(trx, {
      userID: request.userID,
      token: request.token,
      tokenValidity,
      loginStatus: request.loginStatus ?? 'success',
      tradingStatus: request.tradingStatus ?? 'active',
      now,
    });
    return createdNow;
  });

  const event = TokenRefreshed.parse({
    v: 1,
    eventId: randomUUID(),
    runId: null,
    userID: request.userID,
    token: request.token,
    tokenValidity: tokenValidity.toISOString(),
    loginTime: now.toISOString(),
    source: 'push',
    attempts: 0,
  });
  try {
    await deps.nc.jetstream().publish(Subjects.refreshed(request.userID), encodeJson(event), { msgID: event.eventId });
  } catch (err) {
    throw new PublishFailedError('token stored but not published', { cause: err });
  }
  // The event consumer puts it into the bucket as well; a failure here only delays that.
  await putTokenIfNewer(deps.kv, event).catch((err: unknown) =>
    deps.log.warn({ err, userID: request.userID }, 'could not put the pushed token into the KV bucket'),
  );
  deps.log.info({ userID: request.userID, created }, 'pushed token stored');
  return { userID: request.userID, created, eventId: event.eventId, tokenValidity: event.tokenValidity };
}
