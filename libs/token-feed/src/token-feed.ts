import { Events, type KV, type NatsConnection, type Status, type Subscription } from 'nats';
import { Buckets, Subjects, TokenRefreshed, isValidUserId } from '@refresher/contracts';
import { AsyncQueue } from './async-queue.ts';

export class InvalidUserIdError extends Error {
  override name = 'InvalidUserIdError';
  constructor() {
    super('userID must be 1-64 characters of A-Z, a-z, 0-9, "_" or "-"');
  }
}

export interface WatchTokensOptions {
  /** One user's tokens; every user's when absent. */
  userID?: string;
}

/** An async iterable of tokens; `break` out of the loop or call `stop()` to end it. */
export interface TokenWatch extends AsyncIterable<TokenRefreshed> {
  stop(): void;
  /** How many messages (KV values or publications) did not parse as a `TokenRefreshed` and were skipped. */
  readonly invalid: number;
  /** How many reads of the bucket after a reconnect failed; each is tried again at the next reconnect. */
  readonly failedRereads: number;
}

const decoder = new TextDecoder();

/**
 * Yields the current token(s) from the `tokens` KV bucket, then every token published on
 * `tokens.refreshed.<userID>` (or `tokens.refreshed.>`). The subscription is made before the bucket
 * is read, so a token published in between is not missed. After every reconnect of `nc` the bucket
 * is read again, so a token published while the connection was down is not missed either. Per
 * user, a token is yielded only when its `loginTime` is later than the last one yielded (so neither
 * a duplicate nor an older token ever comes out).
 */
export function watchTokens(nc: NatsConnection, options: WatchTokensOptions = {}): TokenWatch {
  const { userID } = options;
  if (userID !== undefined && !isValidUserId(userID)) throw new InvalidUserIdError();
  const filter = new NewerTokens(userID);
  const queue = new AsyncQueue<TokenRefreshed>(() => {
    reconnects.stop();
    if (!subscription.isClosed()) subscription.unsubscribe();
  });
  const accept = (data: Uint8Array) => {
    const token = filter.admit(data);
    if (token) queue.push(token);
  };

  // Live tokens are held back until the bucket has been read, so the current token comes first.
  let held: Uint8Array[] | undefined = [];
  const subject = userID === undefined ? Subjects.refreshedAll : Subjects.refreshed(userID);
  const subscription: Subscription = nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) queue.end(err);
      else if (held) held.push(msg.data);
      else accept(msg.data);
    },
  });
  void subscription.closed.then(() => queue.end());
  // Taken before the first read, so that a reconnect during it is seen (and read again after it).
  const reconnects = new Reconnects(nc);

  const readAgain = async () => {
    const values = await readCurrent(nc, userID);
    if (!queue.isEnded) for (const value of values) accept(value);
  };
  let failedRereads = 0;
  void (async () => {
    await nc.flush();
    const values = await readCurrent(nc, userID);
    if (queue.isEnded) return;
    for (const value of [...values, ...(held ?? [])]) accept(value);
    held = undefined;
    await reconnects.each(readAgain, () => (failedRereads += 1));
  })().catch((err: unknown) => queue.end(err));

  return {
    [Symbol.asyncIterator]: () => queue,
    stop: () => void queue.return(),
    get invalid() {
      return filter.invalid;
    },
    get failedRereads() {
      return failedRereads;
    },
  };
}

/**
 * The connection's reconnects, one after another. nats.js sends the subscription again before it
 * reports a reconnect, so a token published from then on reaches the subscription; one published
 * while the connection was down is recovered by the read from the bucket, which holds the latest
 * token per user (the one that matters) once persistence has stored it.
 * Live tokens are not held back during such a read: what it returns goes through the same
 * `NewerTokens` filter, so a value older than (or equal to) a live token already yielded is
 * dropped, and a live token is never kept waiting on a read that may be slow or fail.
 */
class Reconnects {
  private readonly status: AsyncIterable<Status>;

  constructor(nc: NatsConnection) {
    this.status = nc.status();
  }

  /** Runs `read` after each reconnect until `stop()` or the connection closes; a failed read is counted, not fatal. */
  async each(read: () => Promise<void>, onFailure: () => void): Promise<void> {
    for await (const status of this.status) {
      if (status.type !== Events.Reconnect) continue;
      // The connection may drop again during the read: the next reconnect brings the next read.
      await read().catch(onFailure);
    }
  }

  /** Ends the loop of `each` (a read under way finishes, and what it returns is discarded). */
  stop(): void {
    // nats.js 2.x returns a QueuedIterator from status(), typed only as AsyncIterable; stop() ends it.
    const status = this.status;
    if ('stop' in status && typeof status.stop === 'function') status.stop();
  }
}

/** Per user, only tokens later than the last one let through; what does not parse (or is another user's) is counted. */
class NewerTokens {
  invalid = 0;
  private readonly latest = new Map<string, number>();

  constructor(private readonly userID: string | undefined) {}

  admit(data: Uint8Array): TokenRefreshed | null {
    const token = parseToken(data);
    if (!token || (this.userID !== undefined && token.userID !== this.userID)) {
      this.invalid += 1;
      return null;
    }
    const loginTime = Date.parse(token.loginTime);
    const previous = this.latest.get(token.userID);
    if (previous !== undefined && loginTime <= previous) return null;
    this.latest.set(token.userID, loginTime);
    return token;
  }
}

/** The user's latest token from the `tokens` KV bucket, or null when there is none (or it is not valid). */
export async function getCurrentToken(nc: NatsConnection, userID: string): Promise<TokenRefreshed | null> {
  if (!isValidUserId(userID)) throw new InvalidUserIdError();
  const [value] = await readCurrent(nc, userID);
  const token = value ? parseToken(value) : null;
  return token && token.userID === userID ? token : null;
}

async function readCurrent(nc: NatsConnection, userID: string | undefined): Promise<Uint8Array[]> {
  const kv = await openBucket(nc);
  if (!kv) return [];
  const keys: string[] = [];
  if (userID !== undefined) {
    keys.push(userID);
  } else {
    for await (const key of await kv.keys()) keys.push(key);
  }
  const values: Uint8Array[] = [];
  for (const key of keys) {
    const entry = await kv.get(key);
    if (entry && entry.operation === 'PUT' && entry.value.length > 0) values.push(entry.value);
  }
  return values;
}

/** Binds to the bucket without creating it: a missing bucket means no token exists yet. */
async function openBucket(nc: NatsConnection): Promise<KV | undefined> {
  const jsm = await nc.jetstreamManager();
  try {
    await jsm.streams.info(`KV_${Buckets.tokens}`);
  } catch (err) {
    if (isStreamNotFound(err)) return undefined;
    throw err;
  }
  return nc.jetstream().views.kv(Buckets.tokens, { bindOnly: true });
}

function isStreamNotFound(err: unknown): boolean {
  return err instanceof Error && /stream not found/i.test(err.message);
}

function parseToken(data: Uint8Array): TokenRefreshed | null {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch {
    return null;
  }
  const parsed = TokenRefreshed.safeParse(json);
  return parsed.success ? parsed.data : null;
}
