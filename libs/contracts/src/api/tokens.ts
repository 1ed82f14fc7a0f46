// Request-reply of tokens (served by persistence): a user's token status, a token pushed by a partner.
import { z } from 'zod';
import { UserId } from '../ids.ts';
import { Timestamp } from '../fields.ts';

/** `persistence.users.token-status`: a user's token state, without the token (404 when unknown). */
export const TokenStatusRequest = z.strictObject({ userID: UserId });
export type TokenStatusRequest = z.infer<typeof TokenStatusRequest>;

export const TokenStatusResponse = z.strictObject({
  userID: UserId,
  clientName: z.string(),
  hasToken: z.boolean(),
  /** First 16 characters and "...", as the legacy API showed; null without a token. */
  tokenPreview: z.string().nullable(),
  tokenValidity: Timestamp.nullable(),
  lastLoginTime: Timestamp.nullable(),
  loginStatus: z.string(),
  tradingStatus: z.string(),
});
export type TokenStatusResponse = z.infer<typeof TokenStatusResponse>;

/**
 * `persistence.tokens.push`: store a token a partner pushed and publish it like a refreshed one.
 * Without `createIfMissing` an unknown user is a 404; with it an integration-managed user is created.
 */
export const PushTokenRequest = z.strictObject({
  userID: UserId,
  token: z.string().min(1).max(8192),
  tokenValidity: Timestamp.optional(),
  loginStatus: z.string().min(1).max(32).optional(),
  tradingStatus: z.string().min(1).max(32).optional(),
  createIfMissing: z.strictObject({ clientName: z.string().max(200).optional() }).optional(),
});
export type PushTokenRequest = z.infer<typeof PushTokenRequest>;

export const PushTokenResponse = z.strictObject({
  userID: UserId,
  created: z.boolean(),
  eventId: z.string(),
  tokenValidity: Timestamp,
});
export type PushTokenResponse = z.infer<typeof PushTokenResponse>;
