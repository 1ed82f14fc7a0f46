import type { Kysely } from 'kysely';
import {
  CREDENTIAL_FIELDS,
  INTEGRATION_MANAGED,
  type RemoveUserResponse,
  type UpsertUserRequest,
  type UpsertUserResponse,
} from '@refresher/contracts';
import type { Database, IIFLUserUpdate } from '@refresher/db';
import { BadRequestError, UserExistsError, UserNotFoundError, InconsistentRowError } from '../errors.ts';
import { isIntegrationManaged } from './credentials.ts';
import { findUserForUpdate } from './user.repository.ts';

/**
 * Registers or changes a user from a management request. Credentials arrive encrypted (the request
 * schema refuses anything else), so this process only ever stores ciphertext it cannot open.
 * Changed credentials lift a "credentials rejected" mark by themselves: the mark holds a
 * fingerprint of the values that were rejected, and new ciphertext never matches it.
 */
export async function upsertUser(db: Kysely<Database>, request: UpsertUserRequest, now = new Date()): Promise<UpsertUserResponse> {
  return db.transaction().execute(async (trx) => {
    const existing = await findUserForUpdate(trx, request.userID);
    if (existing && request.mode === 'create') throw new UserExistsError(request.userID);
    if (!existing && request.mode === 'update') throw new UserNotFoundError(request.userID);

    const profile: IIFLUserUpdate = {};
    if (request.clientName !== undefined) profile.clientName = request.clientName;
    if (request.email !== undefined) profile.email = request.email;
    if (request.phoneNumber !== undefined) profile.phoneNumber = request.phoneNumber;
    if (request.state !== undefined) profile.state = request.state;

    const credentials: Partial<Record<(typeof CREDENTIAL_FIELDS)[number], string>> = {};
    if (request.integrationManaged) {
      for (const field of CREDENTIAL_FIELDS) credentials[field] = INTEGRATION_MANAGED;
    } else if (request.credentials) {
      for (const field of CREDENTIAL_FIELDS) {
        const value = request.credentials[field];
        if (value !== undefined) credentials[field] = value;
      }
    }
    const given = Object.keys(credentials);

    if (!existing) {
      if (given.length !== CREDENTIAL_FIELDS.length) {
        throw new BadRequestError('a new user needs all four credentials (password, appKey, appSecret, totpSecret)');
      }
      await trx
        .insertInto('IIFLUser')
        .values({
          userID: request.userID,
          clientName: request.clientName ?? request.userID,
          email: request.email ?? '',
          phoneNumber: request.phoneNumber ?? '',
          password: credentials.password!,
          appKey: credentials.appKey!,
          appSecret: credentials.appSecret!,
          totpSecret: credentials.totpSecret!,
          state: request.state ?? 'live',
          createdAt: now,
          updatedAt: now,
        })
        .execute();
      return { userID: request.userID, created: true, changed: [...Object.keys(profile), ...given] };
    }

    // Some credentials of a partner-managed user would leave a row that is neither kind.
    if (isIntegrationManaged(existing) && given.length > 0 && given.length < CREDENTIAL_FIELDS.length) {
      throw new InconsistentRowError('an integration-managed user needs all four credentials to become a real user');
    }
    const changed = [...Object.keys(profile), ...given];
    if (changed.length > 0) {
      await trx
        .updateTable('IIFLUser')
        .set({ ...profile, ...credentials, updatedAt: now })
        .where('userID', '=', request.userID)
        .execute();
    }
    return { userID: request.userID, created: false, changed };
  });
}

/** Deletes the user's row and the pipeline's memory of it; run history is kept. */
export async function removeUser(db: Kysely<Database>, userID: string): Promise<RemoveUserResponse> {
  return db.transaction().execute(async (trx) => {
    const deleted = await trx.deleteFrom('IIFLUser').where('userID', '=', userID).executeTakeFirst();
    if (deleted.numDeletedRows === 0n) throw new UserNotFoundError(userID);
    await trx.deleteFrom('user_refresh_state').where('user_id', '=', userID).execute();
    return { userID, removed: true as const };
  });
}
