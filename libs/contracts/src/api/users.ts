// Request-reply of user management (served by persistence): register, change, remove.
import { z } from 'zod';
import { Outcome, Trigger } from '../events.ts';
import { Timestamp } from '../fields.ts';
import { RunId, UserId } from '../ids.ts';
import { EgressSetting, EncryptedCredentials, LoginFlowSetting } from './credentials.ts';

/**
 * `persistence.admin.users.upsert`: register or change a user. `mode` `create` answers 409 when the user
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
    /** Where the user's logins leave from (a source address or an http(s) proxy URL); null goes back to iifl-auth's map or default. */
    egress: EgressSetting.nullable().optional(),
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

/** `persistence.admin.users.remove`: deletes the user and what the pipeline remembers of it (404 when unknown). */
export const RemoveUserRequest = z.strictObject({ userID: UserId });
export type RemoveUserRequest = z.infer<typeof RemoveUserRequest>;

export const RemoveUserResponse = z.strictObject({ userID: UserId, removed: z.literal(true) });
export type RemoveUserResponse = z.infer<typeof RemoveUserResponse>;

/** The largest page of `persistence.users.accounts`, and the page without a `limit`. */
export const ACCOUNTS_PAGE_MAX = 500;

/**
 * `persistence.users.accounts`: every registered user as an operator sees it (the status page),
 * ordered by userID, a page at a time: the page after `after` starts past that userID.
 */
export const ListAccountsRequest = z.strictObject({
  limit: z.number().int().min(1).max(ACCOUNTS_PAGE_MAX).default(ACCOUNTS_PAGE_MAX),
  after: UserId.optional(),
});
export type ListAccountsRequest = z.infer<typeof ListAccountsRequest>;

/** The user's outcome in the latest run that counted it. */
export const AccountAttempt = z.strictObject({
  runId: RunId,
  trigger: Trigger,
  outcome: z.union([Outcome, z.literal('pending')]),
  /** Failure code or skip reason. */
  code: z.string().nullable(),
  /** IIFL's message (or the pipeline's) of a failure. */
  message: z.string().nullable(),
  /** When the outcome was recorded; while pending, when the run started. */
  at: Timestamp,
});
export type AccountAttempt = z.infer<typeof AccountAttempt>;

/** One account: never the token or a credential, a token preview only (as `persistence.users.token-status`). */
export const AccountStatus = z.strictObject({
  userID: UserId,
  clientName: z.string(),
  state: z.string().nullable(),
  /** A partner pushes this user's token: never logged in here. */
  integrationManaged: z.boolean(),
  /** The user's own login flow; null: the deployment default. */
  loginFlow: LoginFlowSetting.nullable(),
  loginStatus: z.string(),
  tradingStatus: z.string(),
  /** First 16 characters and "..."; null without a token. */
  tokenPreview: z.string().nullable(),
  tokenValidity: Timestamp.nullable(),
  lastLoginTime: Timestamp.nullable(),
  lastAttempt: AccountAttempt.nullable(),
  /** The last failed login (user_refresh_state), whatever came after it. */
  lastFailure: z.strictObject({ code: z.string().nullable(), message: z.string().nullable(), at: Timestamp }).nullable(),
  /** Set while the broker's rejection of the stored credentials stands: all-users runs skip the user. */
  credentialsRejected: z.strictObject({ at: Timestamp, code: z.string().nullable() }).nullable(),
});
export type AccountStatus = z.infer<typeof AccountStatus>;

export const ListAccountsResponse = z.strictObject({
  accounts: z.array(AccountStatus),
  /** `after` for the next page; null on the last page. */
  next: UserId.nullable(),
});
export type ListAccountsResponse = z.infer<typeof ListAccountsResponse>;
