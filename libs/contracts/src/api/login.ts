// Request-reply of IIFL's browser redirect login (served by iifl-auth): login links, authCodes.
import { z } from 'zod';
import { UserId } from '../ids.ts';
import { Timestamp } from '../fields.ts';
import { ServiceErrorCode } from './service-errors.ts';

/**
 * `iifl-auth.login.link`: a login link for the user's browser (IIFL's login page, returning to the
 * gateway's callback with a signed, single-use nonce). 404 unknown user; 409 `NO_APP_CREDENTIALS`;
 * 503 `NOT_CONFIGURED` when iifl-auth has no `LOGIN_LINK_SECRET` / `IIFL_REDIRECT_URL`.
 */
export const LoginLinkRequest = z.strictObject({ userID: UserId });
export type LoginLinkRequest = z.infer<typeof LoginLinkRequest>;

export const LoginLinkResponse = z.strictObject({
  userID: UserId,
  url: z.url({ protocol: /^https?$/ }).max(4096),
  expiresAt: Timestamp,
});
export type LoginLinkResponse = z.infer<typeof LoginLinkResponse>;

const AuthCode = z.string().min(1).max(4096);
/** The client id IIFL returned: any text (one that is not a user id is simply another account). */
const ReturnedClientId = z.string().min(1).max(128);

/**
 * `iifl-auth.login.redeem`: turn an authCode from IIFL's login page into a session, published as
 * `tokens.refreshed.<userID>` like a headless login's. Either the nonce of a login link (the
 * gateway's callback; `clientId` must be the nonce's user) or a userID (an authCode pasted by hand
 * by a caller with scope `refresh`). Refusals: a service error whose description is a
 * {@link LoginRefusal} or, for the exchange at IIFL, a FailureCode; codes in {@link LOGIN_REFUSAL_CODES}.
 */
export const RedeemLoginRequest = z.union([
  z.strictObject({ nonce: z.string().min(1).max(1024), authCode: AuthCode, clientId: ReturnedClientId }),
  z.strictObject({ userID: UserId, authCode: AuthCode, clientId: ReturnedClientId.optional() }),
]);
export type RedeemLoginRequest = z.infer<typeof RedeemLoginRequest>;

export const RedeemLoginResponse = z.strictObject({
  userID: UserId,
  tokenValidity: Timestamp,
  loginTime: Timestamp,
  /** The `tokens.refreshed` event that carries the session. */
  eventId: z.string().min(1).max(128),
});
export type RedeemLoginResponse = z.infer<typeof RedeemLoginResponse>;

/** Why a login link or a redeem was refused (the service error's description). */
export const LoginRefusal = {
  /** Not a nonce this deployment signed (malformed, altered, or signed with another secret). */
  LinkInvalid: 'LINK_INVALID',
  LinkExpired: 'LINK_EXPIRED',
  /** The nonce was redeemed before: a link logs in once. */
  LinkUsed: 'LINK_USED',
  /** IIFL returned another client id than the one the link was made for. */
  WrongAccount: 'WRONG_ACCOUNT',
  /** iifl-auth has no LOGIN_LINK_SECRET / IIFL_REDIRECT_URL. */
  NotConfigured: 'NOT_CONFIGURED',
  /** Integration-managed user: no app key to log in with. */
  NoAppCredentials: 'NO_APP_CREDENTIALS',
  UserNotFound: 'USER_NOT_FOUND',
} as const;
export type LoginRefusal = (typeof LoginRefusal)[keyof typeof LoginRefusal];

/** The service error code of each refusal; a refusal of the exchange by IIFL is 502 (503 when transient). */
export const LOGIN_REFUSAL_CODES: Readonly<Record<LoginRefusal, ServiceErrorCode>> = {
  [LoginRefusal.LinkInvalid]: ServiceErrorCode.BadRequest,
  [LoginRefusal.LinkExpired]: ServiceErrorCode.Gone,
  [LoginRefusal.LinkUsed]: ServiceErrorCode.Conflict,
  [LoginRefusal.WrongAccount]: ServiceErrorCode.Forbidden,
  [LoginRefusal.NotConfigured]: ServiceErrorCode.Unavailable,
  [LoginRefusal.NoAppCredentials]: ServiceErrorCode.Conflict,
  [LoginRefusal.UserNotFound]: ServiceErrorCode.NotFound,
};
