import type { Kysely } from 'kysely';
import type { ClearRejectionsRequest, ClearRejectionsResponse } from '@refresher/contracts';
import type { Database } from '@refresher/db';
import { UserNotFoundError } from '../errors.ts';
import { liftRejectionMarks } from './refresh-state.repository.ts';
import { findUser } from './user.repository.ts';

/**
 * An operator's word that rejected credentials were put right outside the system (an account
 * unlocked at IIFL): the marks are lifted, and all-users runs and their passes log the users in
 * again. One user (404 when unknown; an empty answer when it had no mark) or every user.
 */
export async function clearRejections(
  db: Kysely<Database>,
  request: ClearRejectionsRequest,
  now = new Date(),
): Promise<ClearRejectionsResponse> {
  if (request.userID !== undefined && !(await findUser(db, request.userID))) throw new UserNotFoundError(request.userID);
  return { cleared: await liftRejectionMarks(db, { userID: request.userID, now }) };
}
