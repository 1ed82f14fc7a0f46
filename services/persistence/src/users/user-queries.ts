import type { Kysely } from 'kysely';
import type { GetCredentialsResponse, TokenStatusResponse } from '@refresher/contracts';
import type { Database } from '@refresher/db';
import { UserNotFoundError } from '../errors.ts';
import { readCredentials } from './credentials.ts';
import { findLoginFlow } from './login-settings.repository.ts';
import { findUser } from './user.repository.ts';

export async function getCredentials(db: Kysely<Database>, userID: string): Promise<GetCredentialsResponse> {
  const [user, flow] = await Promise.all([findUser(db, userID), findLoginFlow(db, userID)]);
  if (!user) throw new UserNotFoundError(userID);
  return readCredentials(user, flow);
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
