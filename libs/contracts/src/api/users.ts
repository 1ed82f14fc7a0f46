// Request-reply of user management (served by persistence): register, change, remove.
import { z } from 'zod';
import { UserId } from '../ids.ts';
import { EncryptedCredentials, LoginFlowSetting } from './credentials.ts';

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
