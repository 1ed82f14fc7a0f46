import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from 'nats';
import { readFileSync } from 'node:fs';
import type { NatsEnv } from './config.ts';
import type { Logger } from './logger.ts';

export type { NatsConnection } from 'nats';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Parses JSON without throwing: a payload that is not JSON becomes `undefined`. */
export function decodeJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
}

/**
 * Connects with reconnection forever: a service outlives a NATS restart and resumes where it was.
 */
export async function connectNats(
  config: Pick<NatsEnv, 'NATS_URL' | 'NATS_USER' | 'NATS_PASSWORD' | 'NATS_TOKEN' | 'NATS_CREDS_FILE'> & {
    NATS_INBOX_PREFIX?: string | undefined;
  },
  name: string,
  log?: Logger,
): Promise<NatsConnection> {
  const options: ConnectionOptions = {
    servers: config.NATS_URL.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    pingInterval: 10_000,
    // nats.js otherwise captures a stack trace (and builds a timeout error) for every request and
    // publish acknowledgement: measurably the largest client-side cost per login in iifl-auth.
    noAsyncTraces: true,
  };
  if (config.NATS_USER) options.user = config.NATS_USER;
  if (config.NATS_PASSWORD) options.pass = config.NATS_PASSWORD;
  if (config.NATS_TOKEN) options.token = config.NATS_TOKEN;
  if (config.NATS_CREDS_FILE) options.authenticator = credsAuthenticator(readFileSync(config.NATS_CREDS_FILE));
  if (config.NATS_INBOX_PREFIX) options.inboxPrefix = config.NATS_INBOX_PREFIX;
  const nc = await connect(options);
  if (log) void watchStatus(nc, log);
  return nc;
}

async function watchStatus(nc: NatsConnection, log: Logger): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === 'disconnect' || status.type === 'error') {
      log.warn({ natsStatus: status.type }, 'NATS connection trouble');
    } else if (status.type === 'reconnect') {
      log.info({ natsStatus: status.type }, 'NATS reconnected');
    }
  }
}
