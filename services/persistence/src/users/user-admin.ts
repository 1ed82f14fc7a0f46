import type { Kysely } from 'kysely';
import {
  CREDENTIAL_FIELDS,
  INTEGRATION_MANAGED,
  isIntegrationManaged,
  missingCredentials,
  type CredentialField,
  type LoginFlow,
  type RemoveUserResponse,
  type UpsertUserRequest,
  type UpsertUserResponse,
} from '@refresher/contracts';
import type { Database, IIFLUserUpdate } from '@refresher/db';
import { BadRequestError, UserExistsError, UserNotFoundError, InconsistentRowError } from '../errors.ts';
import type { CredentialColumns } from './credentials.ts';
import { findLoginSettings, writeLoginSettings } from './login-settings.repository.ts';
import { clearCredentialsRejected } from './refresh-state.repository.ts';
import { findUserForUpdate } from './user.repository.ts';

type CredentialValues = Partial<Record<CredentialField, string>>;

/**
 * Registers or changes a user from a management request. Credentials arrive encrypted (the request
 * schema refuses anything else), so this process only ever stores ciphertext it cannot open.
 * Changed credentials lift a "credentials rejected" mark by themselves: the mark holds a
 * fingerprint of the values that were rejected, and new ciphertext never matches it. A change of
 * the login flow lifts it too (a rejection of a headless login says nothing of the redirect), and so
 * does a change of the egress (IP_NOT_AUTHORISED from one address says nothing of another).
 */
export async function upsertUser(db: Kysely<Database>, request: UpsertUserRequest, now = new Date()): Promise<UpsertUserResponse> {
  return db.transaction().execute(async (trx) => {
    const existing = await findUserForUpdate(trx, request.userID);
    if (existing && request.mode === 'create') throw new UserExistsError(request.userID);
    if (!existing && request.mode === 'update') throw new UserNotFoundError(request.userID);

    const profile = profileOf(request);
    const credentials = credentialsOf(request);
    const stored = existing ? await findLoginSettings(trx, request.userID) : { flow: null, egress: null };
    const storedFlow = stored.flow;
    const flow = request.integrationManaged ? null : request.loginFlow !== undefined ? request.loginFlow : storedFlow;
    const flowChanged = flow !== storedFlow;
    const egress = request.egress !== undefined ? request.egress : stored.egress;
    const egressChanged = egress !== stored.egress;

    if (existing) {
      Object.assign(credentials, completedCredentials(existing, credentials, flow, request));
    } else {
      Object.assign(credentials, newUserCredentials(credentials, flow));
    }
    const changed = [
      ...Object.keys(profile),
      ...Object.keys(credentials),
      ...(flowChanged ? ['loginFlow'] : []),
      ...(egressChanged ? ['egress'] : []),
    ];
    if (!existing) {
      await trx
        .insertInto('IIFLUser')
        .values({
          userID: request.userID,
          clientName: request.clientName ?? request.userID,
          email: request.email ?? '',
          phoneNumber: request.phoneNumber ?? '',
          ...(credentials as Required<CredentialValues>),
          state: request.state ?? 'live',
          createdAt: now,
          updatedAt: now,
        })
        .execute();
    } else if (changed.length > 0) {
      await trx
        .updateTable('IIFLUser')
        .set({ ...profile, ...credentials, updatedAt: now })
        .where('userID', '=', request.userID)
        .execute();
    }
    if (flowChanged || egressChanged) await writeLoginSettings(trx, { userID: request.userID, flow, egress, now });
    // A rejection of one flow says nothing of another; one from a refused address says nothing of another address.
    if (existing && (flowChanged || egressChanged)) await clearCredentialsRejected(trx, { userID: request.userID, now });
    return { userID: request.userID, created: !existing, changed };
  });
}

function profileOf(request: UpsertUserRequest): IIFLUserUpdate {
  const profile: IIFLUserUpdate = {};
  if (request.clientName !== undefined) profile.clientName = request.clientName;
  if (request.email !== undefined) profile.email = request.email;
  if (request.phoneNumber !== undefined) profile.phoneNumber = request.phoneNumber;
  if (request.state !== undefined) profile.state = request.state;
  return profile;
}

function credentialsOf(request: UpsertUserRequest): CredentialValues {
  const credentials: CredentialValues = {};
  for (const field of CREDENTIAL_FIELDS) {
    const value = request.integrationManaged ? INTEGRATION_MANAGED : request.credentials?.[field];
    if (value !== undefined) credentials[field] = value;
  }
  return credentials;
}

/**
 * A redirect user types their password and TOTP code at IIFL: those columns (NOT NULL in the legacy
 * table) hold '' for them, which no headless login can mistake for a value.
 */
const NOT_STORED: CredentialValues = { password: '', totpSecret: '' };

/** A new user's four columns: all four given, or (redirect) appKey and appSecret with the rest empty. */
function newUserCredentials(given: CredentialValues, flow: LoginFlow | null): CredentialValues {
  if (flow === 'redirect' && given.appKey !== undefined && given.appSecret !== undefined) return { ...NOT_STORED, ...given };
  if (CREDENTIAL_FIELDS.every((field) => given[field] !== undefined)) return given;
  throw new BadRequestError(
    flow === 'redirect'
      ? 'a new redirect-flow user needs appKey and appSecret'
      : 'a new user needs all four credentials (password, appKey, appSecret, totpSecret)',
  );
}

/**
 * What an update writes into the credential columns, refused when the row would not serve its login
 * flow: a headless flow (or the default) needs a password and a TOTP seed; an integration-managed
 * user (the marker in its password column) becomes a real one only when the row then holds all its
 * flow needs: the values given, and those of its other columns that are not the marker.
 */
function completedCredentials(
  existing: CredentialColumns,
  given: CredentialValues,
  flow: LoginFlow | null,
  request: UpsertUserRequest,
): CredentialValues {
  if (request.integrationManaged) return given;
  if (isIntegrationManaged(existing)) {
    const touched = Object.keys(given).length > 0 || flow !== null;
    if (!touched) return given;
    const written = flow === 'redirect' ? { ...NOT_STORED, ...given } : given;
    const needed = flow === 'redirect' ? (['appKey', 'appSecret'] as const) : CREDENTIAL_FIELDS;
    if (missingCredentials({ ...existing, ...written }, needed).length === 0) return written;
    throw new InconsistentRowError(
      flow === 'redirect'
        ? 'an integration-managed user needs appKey and appSecret to log in through the redirect'
        : 'an integration-managed user needs all four credentials to become a real user',
    );
  }
  const merged = { ...existing, ...given };
  if (flow !== 'redirect' && missingCredentials(merged, ['password', 'totpSecret']).length > 0) {
    throw new BadRequestError(`the ${flow ?? 'default'} login flow needs a password and a TOTP seed: give them with the change`);
  }
  return given;
}

/** Deletes the user's row and the pipeline's memory of it; run history is kept. */
export async function removeUser(db: Kysely<Database>, userID: string): Promise<RemoveUserResponse> {
  return db.transaction().execute(async (trx) => {
    const deleted = await trx.deleteFrom('IIFLUser').where('userID', '=', userID).executeTakeFirst();
    if (deleted.numDeletedRows === 0n) throw new UserNotFoundError(userID);
    await trx.deleteFrom('user_refresh_state').where('user_id', '=', userID).execute();
    await trx.deleteFrom('user_login_settings').where('user_id', '=', userID).execute();
    return { userID, removed: true as const };
  });
}
