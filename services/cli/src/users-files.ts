import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import {
  CREDENTIAL_FIELDS,
  EgressSetting,
  INTEGRATION_MANAGED,
  LOGIN_FLOWS,
  UserId,
  type EncryptedCredentials,
  type UpsertUserRequest,
} from '@refresher/contracts';
import { encryptField, type Keyring } from '@refresher/credential-crypto';
import { describeZodError } from '@refresher/platform';

/** What `pnpm users` reads from files: credentials and users to import, never from the command line. */

const Secret = z.string().min(1).max(1024);
export const CredentialsFile = z.strictObject({
  password: Secret.optional(),
  appKey: Secret.optional(),
  appSecret: Secret.optional(),
  totpSecret: Secret.optional(),
});
export type PlainCredentials = z.infer<typeof CredentialsFile>;

/** `--login-flow` and an import record's `loginFlow`: a flow, or `default` (null) for the deployment's. */
export const LoginFlowOption = z.enum([...LOGIN_FLOWS, 'default']).transform((v) => (v === 'default' ? null : v));

/** `--egress`: a source address, an http(s) proxy URL, or `default` (null: iifl-auth's map or default). */
export const EgressOption = z.union([z.literal('default').transform(() => null), EgressSetting]);

const ImportRecord = z
  .object({
    userID: UserId.optional(),
    clientId: UserId.optional(),
    clientName: z.string().min(1).max(200).optional(),
    email: z.string().max(320).optional(),
    phoneNumber: z.string().max(32).optional(),
    state: z.string().min(1).max(32).optional(),
    loginFlow: z.enum(LOGIN_FLOWS).nullable().optional(),
    egress: EgressSetting.nullable().optional(),
    password: Secret.optional(),
    appKey: Secret,
    appSecret: Secret,
    totpSecret: Secret.optional(),
  })
  .refine((r) => r.userID ?? r.clientId, { message: 'userID or clientId is required' })
  .refine(
    (r) => r.loginFlow === 'redirect' || r.password === INTEGRATION_MANAGED || (r.password !== undefined && r.totpSecret !== undefined),
    {
      message: 'password and totpSecret are required, except with loginFlow "redirect"',
    },
  );

/** Paths and messages only: a zod message never quotes the value, a path may not hold one either. */
export function describe(error: z.ZodError): string {
  return describeZodError(error, '(record)');
}

export interface UsersIo {
  /** Reads a file (or standard input for "-"), relative to `cwd`. */
  read(path: string): string;
}

export const defaultUsersIo = (cwd: string): UsersIo => ({
  read: (path) => (path === '-' ? readFileSync(0, 'utf8') : readFileSync(resolve(cwd, path), 'utf8')),
});

export class UsageError extends Error {
  override name = 'UsageError';
}

export function encryptCredentials(keyring: Keyring, userID: string, plain: PlainCredentials): Partial<EncryptedCredentials> {
  const out: Partial<EncryptedCredentials> = {};
  for (const column of CREDENTIAL_FIELDS) {
    const value = plain[column];
    if (value !== undefined) out[column] = encryptField(keyring, value, { table: 'IIFLUser', column, row: userID });
  }
  return out;
}

function readJson(io: UsersIo, path: string): unknown {
  let text: string;
  try {
    text = io.read(path);
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${path} is not JSON`);
  }
}

export function readCredentials(io: UsersIo, path: string): PlainCredentials {
  const parsed = CredentialsFile.safeParse(readJson(io, path));
  if (!parsed.success) throw new UsageError(`invalid credentials file: ${describe(parsed.error)}`);
  return parsed.data;
}

export function readImport(io: UsersIo, path: string, keyring: Keyring): UpsertUserRequest[] {
  const parsed = z.array(ImportRecord).safeParse(readJson(io, path));
  if (!parsed.success) throw new UsageError(`invalid users file: ${describe(parsed.error)}`);
  return parsed.data.map((record) => {
    const userID = (record.userID ?? record.clientId)!;
    const profile = {
      ...(record.clientName !== undefined ? { clientName: record.clientName } : {}),
      ...(record.email !== undefined ? { email: record.email } : {}),
      ...(record.phoneNumber !== undefined ? { phoneNumber: record.phoneNumber } : {}),
      ...(record.state !== undefined ? { state: record.state } : {}),
    };
    // The password alone decides, as in the existing system: the record's other values are not
    // stored (an integration-managed user is never logged in).
    if (record.password === INTEGRATION_MANAGED) return { userID, mode: 'upsert' as const, ...profile, integrationManaged: true as const };
    return {
      userID,
      mode: 'upsert' as const,
      ...profile,
      ...(record.loginFlow !== undefined ? { loginFlow: record.loginFlow } : {}),
      ...(record.egress !== undefined ? { egress: record.egress } : {}),
      credentials: encryptCredentials(keyring, userID, record),
    };
  });
}
