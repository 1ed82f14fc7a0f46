import { z } from 'zod';
import { RunId, UserId } from './ids.ts';
import { Outcome, Trigger } from './events.ts';
import { LOGIN_FLOWS, SkipReason } from './codes.ts';

const Timestamp = z.iso.datetime({ offset: true });
const skipReasons = Object.values(SkipReason) as [SkipReason, ...SkipReason[]];

/**
 * `persistence.runs.start`: register a run and say which users it must log in. Idempotent on
 * `runId`: starting a run that exists returns it unchanged with `created: false` (this is how two
 * scheduler replicas firing the same slot end up with one run). Without `userID` the run covers
 * every due user; with it, that one user (a 404 service error when the user does not exist).
 */
export const StartRunRequest = z.strictObject({
  runId: RunId.optional(),
  trigger: Trigger,
  userID: UserId.optional(),
});
export type StartRunRequest = z.infer<typeof StartRunRequest>;

export const RunUser = z.strictObject({ userID: UserId, clientName: z.string() });
export type RunUser = z.infer<typeof RunUser>;

export const SkippedUser = z.strictObject({
  userID: UserId,
  clientName: z.string(),
  reason: z.enum(skipReasons),
});
export type SkippedUser = z.infer<typeof SkippedUser>;

export const StartRunResponse = z.strictObject({
  runId: RunId,
  created: z.boolean(),
  requestedAt: Timestamp,
  /** Users to log in: one `tokens.refresh.requested.<userID>` each. */
  requested: z.array(RunUser),
  /** Users counted in the run but not logged in, with the reason (recorded already). */
  skipped: z.array(SkippedUser),
});
export type StartRunResponse = z.infer<typeof StartRunResponse>;

/** `persistence.runs.get`: a run's summary and per-user results (404 when unknown). */
export const GetRunRequest = z.strictObject({ runId: RunId });
export type GetRunRequest = z.infer<typeof GetRunRequest>;

export const RunResult = z.strictObject({
  userID: UserId,
  clientName: z.string(),
  outcome: z.union([Outcome, z.literal('pending')]),
  code: z.string().nullable(),
  message: z.string().nullable(),
  tokenValidity: Timestamp.nullable(),
  recordedAt: Timestamp.nullable(),
});
export type RunResult = z.infer<typeof RunResult>;

export const RunSummary = z.strictObject({
  runId: RunId,
  trigger: Trigger,
  requestedAt: Timestamp,
  completedAt: Timestamp.nullable(),
  total: z.number().int().min(0),
  refreshed: z.number().int().min(0),
  failed: z.number().int().min(0),
  skipped: z.number().int().min(0),
  pending: z.number().int().min(0),
  results: z.array(RunResult),
});
export type RunSummary = z.infer<typeof RunSummary>;

/**
 * How a user logs in at IIFL, when set for the user (`UpsertUserRequest.loginFlow`); a user without
 * one logs in with the deployment default (iifl-auth's `IIFL_LOGIN_FLOW`).
 */
export const LoginFlowSetting = z.enum(LOGIN_FLOWS);

/**
 * `persistence.credentials.get`: what iifl-auth needs to log a user in (404 when unknown): the
 * user's login flow and what that flow needs.
 */
export const GetCredentialsRequest = z.strictObject({ userID: UserId });
export type GetCredentialsRequest = z.infer<typeof GetCredentialsRequest>;

export const BrokerCredentials = z.strictObject({
  password: z.string().min(1),
  appKey: z.string().min(1),
  appSecret: z.string().min(1),
  totpSecret: z.string().min(1),
});
export type BrokerCredentials = z.infer<typeof BrokerCredentials>;

/** What the browser redirect needs: the app's key (in the login link) and secret (for the session). */
export const AppCredentials = BrokerCredentials.pick({ appKey: true, appSecret: true });
export type AppCredentials = z.infer<typeof AppCredentials>;

export const GetCredentialsResponse = z.discriminatedUnion('loginFlow', [
  z.strictObject({
    userID: UserId,
    clientName: z.string(),
    /** A headless flow, or null: the deployment default (which may be `redirect` as well). */
    loginFlow: z.enum(['headless-v1', 'headless-v2']).nullable(),
    /** All four; null for integration-managed users, who are never logged in. */
    credentials: BrokerCredentials.nullable(),
  }),
  z.strictObject({
    userID: UserId,
    clientName: z.string(),
    loginFlow: z.literal('redirect'),
    /** Only what the redirect needs: such a user may have no password or TOTP seed stored. */
    credentials: AppCredentials,
  }),
]);
export type GetCredentialsResponse = z.infer<typeof GetCredentialsResponse>;

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

/**
 * A credential value as it travels to persistence for storage: encrypted by the sender
 * (`enc:v1:<keyId>:<iv>:<ciphertext+tag>`, libs/credential-crypto), never plain text. Persistence
 * cannot open it; it only checks the shape.
 */
export const EncryptedValue = z
  .string()
  .max(4096)
  .regex(/^enc:v1:[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22,}$/, 'must be an encrypted value (enc:v1:...), never plain text');
export type EncryptedValue = z.infer<typeof EncryptedValue>;

export const EncryptedCredentials = z.strictObject({
  password: EncryptedValue,
  appKey: EncryptedValue,
  appSecret: EncryptedValue,
  totpSecret: EncryptedValue,
});
export type EncryptedCredentials = z.infer<typeof EncryptedCredentials>;

/** The column names of the credentials, as they are bound into each encrypted value. */
export const CREDENTIAL_FIELDS = ['password', 'appKey', 'appSecret', 'totpSecret'] as const;
export type CredentialField = (typeof CREDENTIAL_FIELDS)[number];

/**
 * `persistence.users.upsert`: register or change a user. `mode` `create` answers 409 when the user
 * exists, `update` 404 when it does not, `upsert` does either. A new user needs all four credentials
 * (appKey and appSecret for `loginFlow: 'redirect'`, or `integrationManaged`); an update may change
 * some of them. Credentials are ciphertext only.
 */
export const UpsertUserRequest = z
  .strictObject({
    userID: UserId,
    mode: z.enum(['create', 'update', 'upsert']),
    clientName: z.string().min(1).max(200).optional(),
    email: z.string().max(320).optional(),
    phoneNumber: z.string().max(32).optional(),
    state: z.string().min(1).max(32).optional(),
    credentials: EncryptedCredentials.partial().optional(),
    /**
     * The user's login flow; null goes back to the deployment default. A `redirect` user needs only
     * appKey and appSecret; a headless one all four credentials.
     */
    loginFlow: LoginFlowSetting.nullable().optional(),
    /** A user whose token a partner pushes: never logged in, no credentials. */
    integrationManaged: z.literal(true).optional(),
  })
  .refine((r) => !(r.integrationManaged && r.credentials), {
    message: 'integrationManaged users carry no credentials',
    path: ['credentials'],
  })
  .refine((r) => !(r.integrationManaged && r.loginFlow), {
    message: 'integrationManaged users have no login flow',
    path: ['loginFlow'],
  });
export type UpsertUserRequest = z.infer<typeof UpsertUserRequest>;

export const UpsertUserResponse = z.strictObject({
  userID: UserId,
  created: z.boolean(),
  /** Names of the columns written (credential columns by name only). */
  changed: z.array(z.string()),
});
export type UpsertUserResponse = z.infer<typeof UpsertUserResponse>;

/** `persistence.users.remove`: deletes the user and what the pipeline remembers of it (404 when unknown). */
export const RemoveUserRequest = z.strictObject({ userID: UserId });
export type RemoveUserRequest = z.infer<typeof RemoveUserRequest>;

export const RemoveUserResponse = z.strictObject({ userID: UserId, removed: z.literal(true) });
export type RemoveUserResponse = z.infer<typeof RemoveUserResponse>;

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
export const LOGIN_REFUSAL_CODES: Readonly<Record<LoginRefusal, number>> = {
  [LoginRefusal.LinkInvalid]: 400,
  [LoginRefusal.LinkExpired]: 410,
  [LoginRefusal.LinkUsed]: 409,
  [LoginRefusal.WrongAccount]: 403,
  [LoginRefusal.NotConfigured]: 503,
  [LoginRefusal.NoAppCredentials]: 409,
  [LoginRefusal.UserNotFound]: 404,
};
