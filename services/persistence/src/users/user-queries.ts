import type { Kysely } from 'kysely';
import type { GetCredentialsResponse, TokenStatusResponse } from '@refresher/contracts';
import type { Database } from '@refresher/db';
import { UserNotFoundError } from '../errors.ts';
import { readCredentials } from './credentials.ts';
import { findLoginSettings } from './login-settings.repository.ts';
import { findUser } from './user.repository.ts';

export async function getCredentials(db: Kysely<Database>, userID: string): Promise<GetCredentialsResponse> {
  const [user, settings] = await Promise.all([findUser(db, userID), findLoginSettings(db, userID)]);
  if (!user) throw new UserNotFoundError(userID);
  const answer = readCredentials(user, settings.flow);
  // Only when set: an answer without `egress` reads as before (iifl-auth's map or default).
  return settings.egress === null ? answer : { ...answer, egress: settings.egress };
}

const PREVIEW_LENGTH = 16;

export async function getTokenStatus(db: Kysely<Database>, userID: string): Promise<TokenStatusResponse> {
  const user = await findUser(db, userID);
  if (!user) throw new UserNotFoundError(userID);
  const hasToken = typeof user.token === 'string' && user.token.length > 0;
  return {
    userID: user.userID,
    clientName: user.clientName,
    hasToken,
    tokenPreview: hasToken ? `${user.token!.slice(0, PREVIEW_LENGTH)}...` : null,
    tokenValidity: user.tokenValidity?.toISOString() ?? null,
    lastLoginTime: user.lastLoginTime?.toISOString() ?? null,
    loginStatus: user.loginStatus,
    tradingStatus: user.tradingStatus,
  };
}
