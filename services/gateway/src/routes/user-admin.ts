import { Router } from 'express';
import { z } from 'zod';
import {
  CREDENTIAL_FIELDS,
  EgressSetting,
  LOGIN_FLOWS,
  PersistenceApi,
  UserId,
  type UpsertUserRequest,
  type EncryptedCredentials,
} from '@refresher/contracts';
import { encryptField, type Keyring } from '@refresher/credential-crypto';
import { callService } from '@refresher/platform';
import { Scope } from '../auth.ts';
import type { RouteDeps } from '../http/deps.ts';
import { expectServiceErrors } from '../http/errors.ts';
import { send } from '../http/respond.ts';
import { parseRequest } from '../http/validation.ts';

const Secret = (name: string) =>
  z
    .string({ error: `${name} must be a string` })
    .min(1, `${name} must not be empty`)
    .max(1024, `${name} is too long`);

const Profile = {
  clientName: z.string({ error: 'clientName must be a string' }).min(1).max(200, 'clientName is too long').optional(),
  email: z.string({ error: 'email must be a string' }).max(320, 'email is too long').optional(),
  phoneNumber: z.string({ error: 'phoneNumber must be a string' }).max(32, 'phoneNumber is too long').optional(),
  state: z.string({ error: 'state must be a string' }).min(1).max(32, 'state is too long').optional(),
  /** `headless-v1`, `headless-v2`, `redirect`, or null for the deployment default. */
  loginFlow: z
    .enum(LOGIN_FLOWS, { error: `loginFlow must be one of ${LOGIN_FLOWS.join(', ')}, or null` })
    .nullable()
    .optional(),
  /** Where the user's logins leave from (IIFL's IP whitelist): an IP address, an http(s) proxy URL, or null for iifl-auth's map or default. */
  egress: z
    .union([EgressSetting, z.null()], { error: 'egress must be an IPv4 or IPv6 address, an http(s):// proxy URL, or null' })
    .optional(),
};

/**
 * `POST /users/:userID`: a new user with all four credentials, or appKey and appSecret alone with
 * `loginFlow: "redirect"` (they type their password and TOTP at IIFL). Unknown fields are refused.
 */
export const CreateBody = z
  .strictObject(
    {
      ...Profile,
      password: Secret('password').optional(),
      appKey: Secret('appKey'),
      appSecret: Secret('appSecret'),
      totpSecret: Secret('totpSecret').optional(),
    },
    { error: 'request body must be a JSON object' },
  )
  .refine((body) => body.loginFlow === 'redirect' || (body.password !== undefined && body.totpSecret !== undefined), {
    error: 'password and totpSecret are required, except with loginFlow "redirect"',
  });

/** `PUT /users/:userID`: any of the profile fields and credentials. */
export const UpdateBody = z
  .strictObject(
    {
      ...Profile,
      password: Secret('password').optional(),
      appKey: Secret('appKey').optional(),
      appSecret: Secret('appSecret').optional(),
      totpSecret: Secret('totpSecret').optional(),
    },
    { error: 'request body must be a JSON object' },
  )
  .refine((body) => Object.keys(body).length > 0, 'nothing to update');

/**
 * The credentials given, encrypted for their row and column. The plain values exist in this
 * process only for the time of the call; what goes to persistence is ciphertext.
 */
function encryptGiven(keyring: Keyring, userID: string, body: { [K in (typeof CREDENTIAL_FIELDS)[number]]?: string | undefined }) {
  const credentials: Partial<EncryptedCredentials> = {};
  for (const column of CREDENTIAL_FIELDS) {
    const value = body[column];
    if (value !== undefined) credentials[column] = encryptField(keyring, value, { table: 'IIFLUser', column, row: userID });
  }
  return credentials;
}

type ProfileFields = Pick<UpsertUserRequest, 'clientName' | 'email' | 'phoneNumber' | 'state' | 'loginFlow' | 'egress'>;

function profileOf(body: { [K in keyof ProfileFields]?: ProfileFields[K] | undefined }) {
  const profile: ProfileFields = {};
  if (body.clientName !== undefined) profile.clientName = body.clientName;
  if (body.email !== undefined) profile.email = body.email;
  if (body.phoneNumber !== undefined) profile.phoneNumber = body.phoneNumber;
  if (body.state !== undefined) profile.state = body.state;
  if (body.loginFlow !== undefined) profile.loginFlow = body.loginFlow;
  if (body.egress !== undefined) profile.egress = body.egress;
  return profile;
}

/** Why persistence refuses to change an integration-managed user (409): it lacks what its login flow needs. */
function needsCredentials(loginFlow: UpsertUserRequest['loginFlow']): string {
  return loginFlow === 'redirect'
    ? 'An integration-managed user needs appKey and appSecret to log in through the redirect'
    : 'An integration-managed user needs all four credentials to become a real user';
}

/** Registers, changes and removes users (scope manage-users). Answers never carry a credential. */
export function userAdminRoutes(deps: RouteDeps & { keyring: Keyring }): Router {
  const router = Router();
  const upsert = (request: UpsertUserRequest) => callService(deps.nc, PersistenceApi.upsertUser, request, deps.persistenceTimeoutMs);

  router.post('/users/:userID', ...deps.allow(Scope.ManageUsers), async (req, res) => {
    const userID = parseRequest(UserId, req.params.userID, 'userID');
    const body = parseRequest(CreateBody, req.body, 'request body');
    const done = await upsert({ userID, mode: 'create', ...profileOf(body), credentials: encryptGiven(deps.keyring, userID, body) }).catch(
      expectServiceErrors({ Conflict: 'User exists already' }),
    );
    deps.log.info({ userID }, 'user registered');
    send(res, { status: 201, body: { success: true, userID, created: true, changed: done.changed } });
  });

  router.put('/users/:userID', ...deps.allow(Scope.ManageUsers), async (req, res) => {
    const userID = parseRequest(UserId, req.params.userID, 'userID');
    const body = parseRequest(UpdateBody, req.body, 'request body');
    const credentials = encryptGiven(deps.keyring, userID, body);
    const done = await upsert({
      userID,
      mode: 'update',
      ...profileOf(body),
      ...(Object.keys(credentials).length ? { credentials } : {}),
    }).catch(expectServiceErrors({ NotFound: 'User not found', Conflict: needsCredentials(body.loginFlow) }));
    deps.log.info({ userID, changed: done.changed }, 'user updated');
    send(res, { status: 200, body: { success: true, userID, created: false, changed: done.changed } });
  });

  router.delete('/users/:userID', ...deps.allow(Scope.ManageUsers), async (req, res) => {
    const userID = parseRequest(UserId, req.params.userID, 'userID');
    await callService(deps.nc, PersistenceApi.removeUser, { userID }, deps.persistenceTimeoutMs).catch(
      expectServiceErrors({ NotFound: 'User not found' }),
    );
    deps.log.info({ userID }, 'user removed');
    send(res, { status: 200, body: { success: true, userID, removed: true } });
  });

  return router;
}
