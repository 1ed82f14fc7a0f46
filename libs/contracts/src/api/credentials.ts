// Broker credentials: as iifl-auth reads them from persistence, and as they travel to it for storage.
import { z } from 'zod';
import { LOGIN_FLOWS } from '../codes.ts';
import { UserId } from '../ids.ts';

/**
 * How a user logs in at IIFL, when set for the user (`UpsertUserRequest.loginFlow`); a user without
 * one logs in with the deployment default (iifl-auth's `IIFL_LOGIN_FLOW`).
 */
export const LoginFlowSetting = z.enum(LOGIN_FLOWS);

/**
 * Where a user's logins leave from (IIFL answers only whitelisted static IPs): a source address to
 * bind (an IPv4 or IPv6 literal) or an HTTP(S) proxy's URL. Null or absent: iifl-auth's app-key map,
 * then its default (`IIFL_EGRESS_MAP_FILE`, `IIFL_EGRESS_DEFAULT`).
 */
export const EgressSetting = z.union([z.ipv4(), z.ipv6(), z.url({ protocol: /^https?$/, hostname: z.regexes.hostname })], {
  error: 'must be an IPv4 or IPv6 address or an http(s):// proxy URL',
});
export type EgressSetting = z.infer<typeof EgressSetting>;

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
    /** The user's own egress; null or absent: iifl-auth's app-key map or default. */
    egress: EgressSetting.nullable().optional(),
  }),
  z.strictObject({
    userID: UserId,
    clientName: z.string(),
    loginFlow: z.literal('redirect'),
    /** Only what the redirect needs: such a user may have no password or TOTP seed stored. */
    credentials: AppCredentials,
    egress: EgressSetting.nullable().optional(),
  }),
]);
export type GetCredentialsResponse = z.infer<typeof GetCredentialsResponse>;

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
