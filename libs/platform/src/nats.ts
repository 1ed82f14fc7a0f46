import {
  connect,
  credsAuthenticator,
  nanos,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type ConnectionOptions,
  type JetStreamManager,
  type NatsConnection,
  type StreamConfig,
} from 'nats';
import { readFileSync } from 'node:fs';
import { Buckets, Streams } from '@refresher/contracts';
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

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** A stream stored in files, named and subjected as the contracts say, with its own settings. */
export function fileStream(stream: { name: string; subjects: readonly string[] }, settings: Partial<StreamConfig>): Partial<StreamConfig> {
  return { name: stream.name, subjects: [...stream.subjects], storage: StorageType.File, ...settings };
}

/** JetStream settings, decided once here (see docs/architecture.md). */
export const STREAM_CONFIGS: Record<keyof typeof Streams, Partial<StreamConfig>> = {
  requests: fileStream(Streams.requests, {
    retention: RetentionPolicy.Workqueue,
    discard: DiscardPolicy.Old,
    // Deterministic message ids (run + user) make a replayed publish a no-op within this window.
    duplicate_window: nanos(15 * MINUTE_MS),
    max_age: nanos(DAY_MS),
  }),
  events: fileStream(Streams.events, {
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(15 * MINUTE_MS),
    max_age: nanos(7 * DAY_MS),
  }),
  deadLetters: fileStream(Streams.deadLetters, { retention: RetentionPolicy.Limits, max_age: nanos(30 * DAY_MS) }),
  // Notices for the notifier: delivered within an hour or dead-lettered, so a day is plenty; the
  // notice id as message id makes a notice published again within the hour a no-op.
  notices: fileStream(Streams.notices, {
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(60 * MINUTE_MS),
    max_age: nanos(DAY_MS),
  }),
};

/** Creates the streams and the tokens KV bucket if they are missing (a stream gains subjects it lacks). Safe to run from every service. */
export async function ensureTopology(nc: NatsConnection): Promise<void> {
  const jsm = await nc.jetstreamManager();
  for (const config of Object.values(STREAM_CONFIGS)) {
    await ensureStream(jsm, config);
  }
  await nc.jetstream().views.kv(Buckets.tokens, { history: 1, storage: StorageType.File });
}

/**
 * Creates a stream unless it exists. A stream that exists keeps its messages and settings and only
 * gains the subjects it lacks (a subject added in a later version); nothing is ever removed. Safe to
 * run from every replica.
 */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig>): Promise<void> {
  const existing = await jsm.streams.info(config.name!).then(
    (info) => info.config,
    () => null,
  );
  if (existing) return addMissingSubjects(jsm, existing, config.subjects ?? []);
  try {
    await jsm.streams.add(config);
  } catch (err) {
    // Another replica may have created it in between.
    const created = await jsm.streams.info(config.name!).catch(() => {
      throw err;
    });
    await addMissingSubjects(jsm, created.config, config.subjects ?? []);
  }
}

async function addMissingSubjects(jsm: JetStreamManager, existing: StreamConfig, wanted: readonly string[]): Promise<void> {
  const missing = wanted.filter((subject) => !existing.subjects?.includes(subject));
  if (missing.length === 0) return;
  await jsm.streams.update(existing.name, { subjects: [...(existing.subjects ?? []), ...missing] });
}
