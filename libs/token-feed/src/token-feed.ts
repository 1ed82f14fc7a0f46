import type { NatsConnection, Subscription } from 'nats';
import { Subjects, type TokenRefreshed, isValidUserId } from '@refresher/contracts';
import { AsyncQueue } from './async-queue.ts';
import { BucketWatch, openBucket } from './bucket-watch.ts';
import { NewerTokens, parseToken } from './newer-tokens.ts';

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
  /** How many messages (bucket values or publications) did not parse as a `TokenRefreshed` and were skipped. */
  readonly invalid: number;
  /** How many times the bucket's watch could not be opened or ended by itself; each time a new one is opened. */
  readonly watchFailures: number;
}

/**
 * Yields the current token(s) from the `tokens` KV bucket, then every new one: those published on
 * `tokens.refreshed.<userID>` (or `tokens.refreshed.>`), the moment they are published, and those
 * written to the bucket, which a KV watch follows (see `BucketWatch`). The subscription is made
 * before the watch opens, so a publication in between is not missed; a token published while the
 * connection was down, or before the feed started, is yielded when persistence writes it to the
 * bucket, whenever that is. Per user, a token is yielded only when its `loginTime` is later than
 * the last one yielded (so neither a duplicate nor an older token ever comes out).
 */
export function watchTokens(nc: NatsConnection, options: WatchTokensOptions = {}): TokenWatch {
  const { userID } = options;
  if (userID !== undefined && !isValidUserId(userID)) throw new InvalidUserIdError();
  const filter = new NewerTokens(userID);
  const queue = new AsyncQueue<TokenRefreshed>(() => {
    bucket.stop();
    if (!subscription.isClosed()) subscription.unsubscribe();
  });
  const accept = (data: Uint8Array) => {
    const token = filter.admit(data);
    if (token) queue.push(token);
  };

  // Live tokens are held back until the bucket's current values are in, so the current token comes first.
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
  let watchFailures = 0;
  const bucket = new BucketWatch(nc, userID ?? '>', accept, () => (watchFailures += 1));

  void (async () => {
    await nc.flush();
    bucket.start();
    await bucket.ready;
    if (queue.isEnded) return;
    for (const value of held ?? []) accept(value);
    held = undefined;
  })().catch((err: unknown) => queue.end(err));

  return {
    [Symbol.asyncIterator]: () => queue,
    stop: () => void queue.return(),
    get invalid() {
      return filter.invalid;
    },
    get watchFailures() {
      return watchFailures;
    },
  };
}

/** The user's latest token from the `tokens` KV bucket, or null when there is none (or it is not valid). */
export async function getCurrentToken(nc: NatsConnection, userID: string): Promise<TokenRefreshed | null> {
  if (!isValidUserId(userID)) throw new InvalidUserIdError();
  const kv = await openBucket(nc);
  const entry = kv ? await kv.get(userID) : null;
  if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return null;
  const token = parseToken(entry.value);
  return token && token.userID === userID ? token : null;
}
