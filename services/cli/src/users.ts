import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { NatsConnection } from 'nats';
import { z } from 'zod';
import {
  CREDENTIAL_FIELDS,
  INTEGRATION_MANAGED,
  PersistenceApi,
  RemoveUserRequest,
  RemoveUserResponse,
  UpsertUserRequest,
  UpsertUserResponse,
  UserId,
  isValidUserId,
  type EncryptedCredentials,
} from '@refresher/contracts';
import { encryptField, keyringFromEnv, KeyringError, type Keyring } from '@refresher/credential-crypto';
import { callService, ConfigError, loadConfig, natsEnvSchema, ServiceCallError } from '@refresher/platform';
import { connectOnce, withoutUserInfo } from './cli.ts';
import { ExitCode, type Output } from './run-refresh.ts';

export const USERS_USAGE = `Usage: pnpm users <command> ...

  add <userID> --credentials-file <file|-> [--client-name <name>] [--email <e>] [--phone <p>] [--state <s>]
  update <userID> [--credentials-file <file|->] [--client-name <name>] [--email <e>] [--phone <p>] [--state <s>]
  remove <userID>
  import <users.json>

Credentials are never given on the command line (it is visible to other users of the machine): the
credentials file (or "-" for standard input) holds JSON {"password", "appKey", "appSecret",
"totpSecret"} (all four for add, any of them for update). "import" reads a JSON array of
{userID|clientId, clientName?, email?, phoneNumber?, state?, password, appKey, appSecret,
totpSecret}; records whose four credentials are "${INTEGRATION_MANAGED}" become integration-managed
users. Each user is created or updated.

Credentials are encrypted here, with CREDENTIALS_KEY (32 random bytes, base64; CREDENTIALS_KEY_ID,
default k1), before they are sent to persistence over NATS: persistence stores ciphertext only.

Exit codes: 0 done; 1 refused (user missing or existing, invalid record); 2 bad arguments,
configuration, or NATS/persistence not answering.

Environment: NATS_URL, NATS_USER, NATS_PASSWORD, NATS_TOKEN, NATS_CREDS_FILE, CREDENTIALS_KEY,
CREDENTIALS_KEY_ID, CREDENTIALS_OLD_KEYS.`;

const Secret = z.string().min(1).max(1024);
const CredentialsFile = z.strictObject({
  password: Secret.optional(),
  appKey: Secret.optional(),
  appSecret: Secret.optional(),
  totpSecret: Secret.optional(),
});
type PlainCredentials = z.infer<typeof CredentialsFile>;

const ImportRecord = z
  .object({
    userID: UserId.optional(),
    clientId: UserId.optional(),
    clientName: z.string().min(1).max(200).optional(),
    email: z.string().max(320).optional(),
    phoneNumber: z.string().max(32).optional(),
    state: z.string().min(1).max(32).optional(),
    password: Secret,
    appKey: Secret,
    appSecret: Secret,
    totpSecret: Secret,
  })
  .refine((r) => r.userID ?? r.clientId, { message: 'userID or clientId is required' });

/** Paths and messages only: a zod message never quotes the value, a path may not hold one either. */
function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ');
}

export interface UsersIo {
  /** Reads a file (or standard input for "-"), relative to `cwd`. */
  read(path: string): string;
}

export const defaultUsersIo = (cwd: string): UsersIo => ({
  read: (path) => (path === '-' ? readFileSync(0, 'utf8') : readFileSync(resolve(cwd, path), 'utf8')),
});

class UsageError extends Error {
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

/** `pnpm users ...`: returns the exit code. */
export async function runUsersCli(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  output: Output,
  io: UsersIo = defaultUsersIo(env.INIT_CWD ?? process.cwd()),
): Promise<ExitCode> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        'credentials-file': { type: 'string' },
        'client-name': { type: 'string' },
        email: { type: 'string' },
        phone: { type: 'string' },
        state: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    output.err(`users: ${(err as Error).message.split('\n')[0]}`);
    output.err(USERS_USAGE);
    return ExitCode.Usage;
  }
  if (values.help) {
    output.out(USERS_USAGE);
    return ExitCode.Ok;
  }
  const [command, target, ...rest] = positionals;
  const known = ['add', 'update', 'remove', 'import'];
  if (!command || !known.includes(command) || !target || rest.length > 0) {
    output.err(USERS_USAGE);
    return ExitCode.Usage;
  }
  if (command !== 'import' && !isValidUserId(target)) {
    output.err('users: invalid userID: 1-64 characters of A-Z, a-z, 0-9, "_" or "-"');
    return ExitCode.Usage;
  }

  let config;
  let keyring: Keyring | null = null;
  try {
    config = loadConfig(natsEnvSchema, env);
    const needsKey = command === 'add' || command === 'import' || (command === 'update' && values['credentials-file'] !== undefined);
    if (needsKey) keyring = keyringFromEnv(env);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof KeyringError) {
      output.err(`users: ${err.message}`);
      return ExitCode.Usage;
    }
    throw err;
  }

  // Everything is read and checked before connecting.
  let requests: UpsertUserRequest[] = [];
  try {
    const profile = {
      ...(values['client-name'] !== undefined ? { clientName: values['client-name'] } : {}),
      ...(values.email !== undefined ? { email: values.email } : {}),
      ...(values.phone !== undefined ? { phoneNumber: values.phone } : {}),
      ...(values.state !== undefined ? { state: values.state } : {}),
    };
    if (command === 'add' || command === 'update') {
      const file = values['credentials-file'];
      if (command === 'add' && file === undefined) throw new UsageError('add needs --credentials-file <file|->');
      const plain = file === undefined ? {} : readCredentials(io, file);
      if (command === 'add' && CREDENTIAL_FIELDS.some((f) => plain[f] === undefined)) {
        throw new UsageError('the credentials file must hold password, appKey, appSecret and totpSecret');
      }
      const credentials = keyring ? encryptCredentials(keyring, target, plain) : {};
      requests = [
        UpsertUserRequest.parse({
          userID: target,
          mode: command === 'add' ? 'create' : 'update',
          ...profile,
          ...(Object.keys(credentials).length ? { credentials } : {}),
        }),
      ];
    } else if (command === 'import') {
      requests = readImport(io, target, keyring!);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof z.ZodError) {
      output.err(`users: ${err instanceof z.ZodError ? describe(err) : err.message}`);
      return ExitCode.Usage;
    }
    throw err;
  }

  let nc: NatsConnection;
  try {
    nc = await connectOnce(config, 'users');
  } catch (err) {
    output.err(`Error: cannot connect to NATS at ${withoutUserInfo(config.NATS_URL)}: ${err instanceof Error ? err.message : String(err)}`);
    return ExitCode.Usage;
  }
  try {
    if (command === 'remove') {
      await callService(nc, PersistenceApi.removeUser, RemoveUserRequest, RemoveUserResponse, { userID: target });
      output.out(`Removed user ${target}`);
      return ExitCode.Ok;
    }
    let created = 0;
    let updated = 0;
    for (const request of requests) {
      const done = await callService(nc, PersistenceApi.upsertUser, UpsertUserRequest, UpsertUserResponse, request);
      if (done.created) created += 1;
      else updated += 1;
      if (command !== 'import') {
        output.out(`${done.created ? 'Added' : 'Updated'} user ${done.userID}${done.changed.length ? ` (${done.changed.join(', ')})` : ''}`);
      }
    }
    if (command === 'import') output.out(`Imported ${requests.length} user(s): ${created} created, ${updated} updated`);
    return ExitCode.Ok;
  } catch (err) {
    if (err instanceof ServiceCallError) {
      if (err.code === 404) output.err(`User not found: ${target}`);
      else if (err.code === 409 && command === 'add') output.err(`User exists already: ${target} (use "update")`);
      else if (err.code === 409) output.err(`Refused: ${err.message}`);
      else if (err.code === 400) output.err(`Refused by persistence: ${err.message}`);
      else {
        output.err(`Error: persistence is not answering on NATS (${err.subject}). Is the persistence service running?`);
        return ExitCode.Usage;
      }
      return ExitCode.Failed;
    }
    throw err;
  } finally {
    await nc.close();
  }
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

function readCredentials(io: UsersIo, path: string): PlainCredentials {
  const parsed = CredentialsFile.safeParse(readJson(io, path));
  if (!parsed.success) throw new UsageError(`invalid credentials file: ${describe(parsed.error)}`);
  return parsed.data;
}

function readImport(io: UsersIo, path: string, keyring: Keyring): UpsertUserRequest[] {
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
    const managed = CREDENTIAL_FIELDS.every((f) => record[f] === INTEGRATION_MANAGED);
    return managed
      ? { userID, mode: 'upsert' as const, ...profile, integrationManaged: true as const }
      : { userID, mode: 'upsert' as const, ...profile, credentials: encryptCredentials(keyring, userID, record) };
  });
}
