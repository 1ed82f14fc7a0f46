import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from 'nats';
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, natsEnvSchema, type NatsEnv } from '@refresher/platform';
import { parseCliArgs, USAGE } from './args.ts';
import { clearRejectionMarks } from './clear-rejections.ts';
import { refreshFailed } from './failed-run.ts';
import { ExitCode, runRefresh, type Output, type RunRefreshTuning } from './run-refresh.ts';

export const cliConfigSchema = natsEnvSchema;

/** The whole command: arguments, configuration, connection, run. Returns the exit code. */
export async function runCli(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  output: Output,
  tuning?: RunRefreshTuning,
): Promise<ExitCode> {
  const parsed = parseCliArgs(argv);
  if (parsed.kind === 'help') {
    output.out(USAGE);
    return ExitCode.Ok;
  }
  if (parsed.kind === 'error') {
    output.err(`refresh-tokens: ${parsed.message}`);
    output.err(USAGE);
    return ExitCode.Usage;
  }

  let config: NatsEnv;
  try {
    config = loadConfig(cliConfigSchema, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      output.err(`refresh-tokens: ${err.message}`);
      return ExitCode.Usage;
    }
    throw err;
  }

  let nc: NatsConnection;
  try {
    nc = await connectOnce(config);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    output.err(`Error: cannot connect to NATS at ${withoutUserInfo(config.NATS_URL)}: ${reason}`);
    return ExitCode.Usage;
  }
  try {
    const { options } = parsed;
    if (options.mode === 'clear-rejections') return await clearRejectionMarks(nc, options, output);
    if (options.mode === 'failed') return await refreshFailed(nc, options, output, tuning);
    return await runRefresh(nc, options, output, tuning);
  } finally {
    await nc.close();
  }
}

/** Unlike a service, a command fails fast when NATS is not there instead of waiting for it. */
export function connectOnce(config: NatsEnv, name = 'refresh-tokens'): Promise<NatsConnection> {
  const options: ConnectionOptions = {
    servers: config.NATS_URL.split(',').map((s) => s.trim()),
    name,
    timeout: 5_000,
    maxReconnectAttempts: 10,
    reconnectTimeWait: 500,
  };
  if (config.NATS_USER) options.user = config.NATS_USER;
  if (config.NATS_PASSWORD) options.pass = config.NATS_PASSWORD;
  if (config.NATS_TOKEN) options.token = config.NATS_TOKEN;
  if (config.NATS_CREDS_FILE) options.authenticator = credsAuthenticator(readFileSync(config.NATS_CREDS_FILE));
  if (config.NATS_INBOX_PREFIX) options.inboxPrefix = config.NATS_INBOX_PREFIX;
  return connect(options);
}

export function withoutUserInfo(urls: string): string {
  return urls.replace(/\/\/[^@/]*@/g, '//');
}
