import {
  nanos,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type KV,
  type KvOptions,
  type NatsConnection,
  type StreamConfig,
} from 'nats';
import { Buckets, Streams } from '@refresher/contracts';

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

/**
 * Creates the streams and the tokens KV bucket if they are missing, each with `replicas` copies
 * (STREAM_REPLICAS). Safe to run from every service.
 */
export async function ensureTopology(nc: NatsConnection, replicas: number): Promise<void> {
  const jsm = await nc.jetstreamManager();
  for (const config of Object.values(STREAM_CONFIGS)) {
    await ensureStream(jsm, config, replicas);
  }
  await ensureBucket(nc, Buckets.tokens, { history: 1, storage: StorageType.File }, replicas);
}

/**
 * Creates a stream with `replicas` copies unless it exists. A stream that exists keeps its messages
 * and settings; it only gains the subjects it lacks (a subject added in a later version) and takes
 * the replica count asked for (JetStream copies the messages to the new peers, or drops peers,
 * in place). Nothing is ever removed. Safe to run from every replica.
 *
 * Durable consumers are created with `num_replicas` 0, which JetStream reads as "as many as the
 * stream", also after the stream's count changes: the count set here reaches them too.
 */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig>, replicas: number): Promise<void> {
  const existing = await jsm.streams.info(config.name!).then(
    (info) => info.config,
    () => null,
  );
  if (existing) return bringUpToDate(jsm, existing, config.subjects ?? [], replicas);
  try {
    await jsm.streams.add({ ...config, num_replicas: replicas });
  } catch (err) {
    // Another replica may have created it in between.
    const created = await jsm.streams.info(config.name!).catch(() => {
      throw err;
    });
    await bringUpToDate(jsm, created.config, config.subjects ?? [], replicas);
  }
}

/** Opens a KV bucket, creating it with `replicas` copies, or bringing an existing one's count to it. */
export async function ensureBucket(nc: NatsConnection, bucket: string, options: Partial<KvOptions>, replicas: number): Promise<KV> {
  const kv = await nc.jetstream().views.kv(bucket, { ...options, replicas });
  const jsm = await nc.jetstreamManager();
  const { config } = await jsm.streams.info(`KV_${bucket}`);
  await bringUpToDate(jsm, config, [], replicas);
  return kv;
}

async function bringUpToDate(jsm: JetStreamManager, existing: StreamConfig, wanted: readonly string[], replicas: number): Promise<void> {
  const missing = wanted.filter((subject) => !existing.subjects?.includes(subject));
  if (missing.length === 0 && existing.num_replicas === replicas) return;
  await jsm.streams.update(existing.name, { subjects: [...(existing.subjects ?? []), ...missing], num_replicas: replicas });
}
