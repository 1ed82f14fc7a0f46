import { parseArgs } from 'node:util';
import type { NatsConnection } from 'nats';
import { z } from 'zod';
import {
  CREDENTIAL_FIELDS,
  INTEGRATION_MANAGED,
  PersistenceApi,
  ServiceErrorCode,
  UpsertUserRequest,
  isValidUserId,
} from '@refresher/contracts';
import { keyringFromEnv, KeyringError, type Keyring } from '@refresher/credential-crypto';
import { callService, ConfigError, loadConfig, natsEnvSchema, ServiceCallError } from '@refresher/platform';
import { connectOnce, withoutUserInfo } from './cli.ts';
import { ExitCode, type Output } from './run-refresh.ts';
import {
  defaultUsersIo,
  describe,
  EgressOption,
  encryptCredentials,
  LoginFlowOption,
  readCredentials,
  readImport,
  UsageError,
  type UsersIo,
} from './users-files.ts';

export { encryptCredentials, type UsersIo } from './users-files.ts';

export const USERS_USAGE = `Usage: pnpm users <command> ...

  add <userID> --credentials-file <file|-> [--login-flow <flow>] [--egress <egress>] [--client-name <name>] [--email <e>] [--phone <p>] [--state <s>]
  update <userID> [--credentials-file <file|->] [--login-flow <flow>] [--egress <egress>] [--client-name <name>] [--email <e>] [--phone <p>] [--state <s>]
  remove <userID>
  import <users.json>

Credentials are never given on the command line (it is visible to other users of the machine): the
credentials file (or "-" for standard input) holds JSON {"password", "appKey", "appSecret",
"totpSecret"} (all four for add, any of them for update). "import" reads a JSON array of
{userID|clientId, clientName?, email?, phoneNumber?, state?, loginFlow?, egress?, password, appKey, appSecret,
totpSecret}; records whose password is "${INTEGRATION_MANAGED}" become integration-managed users
(their other credentials are not stored). Each user is created or updated.

--login-flow: headless-v1, headless-v2, redirect, or default (the deployment's IIFL_LOGIN_FLOW). A
redirect user logs in on IIFL's page through a login link and needs only appKey and appSecret.

--egress: where the user's logins leave from, for IIFL's IP whitelist: a source address to bind
(IPv4 or IPv6, e.g. 203.0.113.7), an HTTP(S) proxy URL (http://proxy.internal:3128), or default
(iifl-auth's IIFL_EGRESS_MAP_FILE entry for the user's app key, else IIFL_EGRESS_DEFAULT).

Credentials are encrypted here, with CREDENTIALS_KEY (32 random bytes, base64; CREDENTIALS_KEY_ID,
default k1), before they are sent to persistence over NATS: persistence stores ciphertext only.

Exit codes: 0 done; 1 refused (user missing or existing, invalid record); 2 bad arguments,
configuration, or NATS/persistence not answering.

Environment: NATS_URL, NATS_USER, NATS_PASSWORD, NATS_TOKEN, NATS_CREDS_FILE, CREDENTIALS_KEY,
CREDENTIALS_KEY_ID, CREDENTIALS_OLD_KEYS.`;

const OPTIONS = {
  'credentials-file': { type: 'string' },
  'login-flow': { type: 'string' },
  egress: { type: 'string' },
  'client-name': { type: 'string' },
  email: { type: 'string' },
  phone: { type: 'string' },
  state: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;
type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** `add` and `update`: the one request, with the credentials encrypted and the login flow checked. */
function singleRequest(command: 'add' | 'update', target: string, values: Values, keyring: Keyring | null, io: UsersIo): UpsertUserRequest {
  const flowOption = values['login-flow'] === undefined ? undefined : LoginFlowOption.safeParse(values['login-flow']);
  if (flowOption && !flowOption.success) throw new UsageError('--login-flow must be headless-v1, headless-v2, redirect or default');
  const loginFlow = flowOption?.data;
  const egressOption = values.egress === undefined ? undefined : EgressOption.safeParse(values.egress);
  if (egressOption && !egressOption.success)
    throw new UsageError('--egress must be an IPv4 or IPv6 address, an http(s):// proxy URL, or default');
  const file = values['credentials-file'];
  if (command === 'add' && file === undefined) throw new UsageError('add needs --credentials-file <file|->');
  const plain = file === undefined ? {} : readCredentials(io, file);
  const needed = loginFlow === 'redirect' ? (['appKey', 'appSecret'] as const) : CREDENTIAL_FIELDS;
  if (command === 'add' && needed.some((f) => plain[f] === undefined)) {
    throw new UsageError(
      loginFlow === 'redirect'
        ? 'the credentials file must hold appKey and appSecret'
        : 'the credentials file must hold password, appKey, appSecret and totpSecret (appKey and appSecret alone with --login-flow redirect)',
    );
  }
  const credentials = keyring ? encryptCredentials(keyring, target, plain) : {};
  return UpsertUserRequest.parse({
    userID: target,
    mode: command === 'add' ? 'create' : 'update',
    ...(values['client-name'] !== undefined ? { clientName: values['client-name'] } : {}),
    ...(values.email !== undefined ? { email: values.email } : {}),
    ...(values.phone !== undefined ? { phoneNumber: values.phone } : {}),
    ...(values.state !== undefined ? { state: values.state } : {}),
    ...(loginFlow !== undefined ? { loginFlow } : {}),
    ...(egressOption !== undefined ? { egress: egressOption.data } : {}),
    ...(Object.keys(credentials).length ? { credentials } : {}),
  });
}

type Parsed = { command: 'add' | 'update' | 'remove' | 'import'; target: string; values: Values };

/** The command line, or the exit code of a usage problem (already reported). */
function parseCommand(argv: readonly string[], output: Output): Parsed | ExitCode {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: OPTIONS }));
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
  if (!command || !['add', 'update', 'remove', 'import'].includes(command) || !target || rest.length > 0) {
    output.err(USERS_USAGE);
    return ExitCode.Usage;
  }
  if (command !== 'import' && !isValidUserId(target)) {
    output.err('users: invalid userID: 1-64 characters of A-Z, a-z, 0-9, "_" or "-"');
    return ExitCode.Usage;
  }
  return { command: command as Parsed['command'], target, values };
}

/** `pnpm users ...`: returns the exit code. */
export async function runUsersCli(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  output: Output,
  io: UsersIo = defaultUsersIo(env.INIT_CWD ?? process.cwd()),
): Promise<ExitCode> {
  const parsed = parseCommand(argv, output);
  if (typeof parsed === 'number') return parsed;
  const { command, target, values } = parsed;

  let config;
  let requests: UpsertUserRequest[] = [];
  try {
    config = loadConfig(natsEnvSchema, env);
    const needsKey = command === 'add' || command === 'import' || (command === 'update' && values['credentials-file'] !== undefined);
    const keyring = needsKey ? keyringFromEnv(env) : null;
    // Everything is read and checked before connecting.
    if (command === 'add' || command === 'update') requests = [singleRequest(command, target, values, keyring, io)];
    else if (command === 'import') requests = readImport(io, target, keyring!);
  } catch (err) {
    if (err instanceof UsageError || err instanceof z.ZodError || err instanceof ConfigError || err instanceof KeyringError) {
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
    return await send(nc, command, target, requests, output);
  } catch (err) {
    if (!(err instanceof ServiceCallError)) throw err;
    if (err.code === ServiceErrorCode.NotFound) output.err(`User not found: ${target}`);
    else if (err.code === ServiceErrorCode.Conflict && command === 'add') output.err(`User exists already: ${target} (use "update")`);
    else if (err.code === ServiceErrorCode.Conflict) output.err(`Refused: ${err.message}`);
    else if (err.code === ServiceErrorCode.BadRequest) output.err(`Refused by persistence: ${err.message}`);
    else {
      output.err(`Error: persistence is not answering on NATS (${err.subject}). Is the persistence service running?`);
      return ExitCode.Usage;
    }
    return ExitCode.Failed;
  } finally {
    await nc.close();
  }
}

async function send(
  nc: NatsConnection,
  command: Parsed['command'],
  target: string,
  requests: UpsertUserRequest[],
  output: Output,
): Promise<ExitCode> {
  if (command === 'remove') {
    await callService(nc, PersistenceApi.removeUser, { userID: target });
    output.out(`Removed user ${target}`);
    return ExitCode.Ok;
  }
  let created = 0;
  let updated = 0;
  for (const request of requests) {
    const done = await callService(nc, PersistenceApi.upsertUser, request);
    if (done.created) created += 1;
    else updated += 1;
    if (command !== 'import') {
      output.out(`${done.created ? 'Added' : 'Updated'} user ${done.userID}${done.changed.length ? ` (${done.changed.join(', ')})` : ''}`);
    }
  }
  if (command === 'import') output.out(`Imported ${requests.length} user(s): ${created} created, ${updated} updated`);
  return ExitCode.Ok;
}
