import { Events, type KV, type KvEntry, type NatsConnection, type QueuedIterator, type Status } from 'nats';
import { Buckets } from '@refresher/contracts';

/** The pause before a watch is opened again after a failure (or while the bucket does not exist), doubling each time. */
const FIRST_PAUSE_MS = 1_000;
const MAX_PAUSE_MS = 30_000;

/** How one watch ended: closed by us (a reconnect: open again at once), no bucket yet, or failed / ended by itself. */
type Outcome = 'reopen' | 'missing' | 'failed';

/**
 * Follows the `tokens` bucket with a KV watch (an ordered consumer filtered on one key, or on all):
 * first the current values, then every write, as persistence makes them. Whatever ends a watch, a
 * new one is opened, delivering the current values again and then the writes from then on:
 * - after every reconnect of the connection, at once (the old watch is closed: its consumer may
 *   be gone, and a new one hands over what was written meanwhile without waiting for nats.js to
 *   notice missing heartbeats);
 * - after a watch that could not be opened or that ended by itself (nats.js could not recreate its
 *   consumer), or while the bucket does not exist yet: after a pause of 1 s doubling up to 30 s,
 *   or at the next reconnect if that comes first; no attempt is made while disconnected.
 * Each failure is counted (`onFailure`), none ends the follower, except a failure to open the very
 * first watch, which rejects `ready` (a permission error, for example).
 */
export class BucketWatch {
  /** Resolves once the bucket's current values have been handed over (or there is no bucket yet, or a watch failed after the first). */
  readonly ready: Promise<void>;
  private settle!: (err?: unknown) => void;
  private readonly status: AsyncIterable<Status>;
  /** Changes at every reconnect: a watch opened before it is closed. */
  private generation = 0;
  private connected = true;
  private stopped = false;
  private current: QueuedIterator<KvEntry> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly key: string,
    private readonly onValue: (data: Uint8Array) => void,
    private readonly onFailure: () => void,
  ) {
    let settled = false;
    this.ready = new Promise<void>((resolve, reject) => {
      this.settle = (err?: unknown) => {
        if (settled) return;
        settled = true;
        if (err === undefined) resolve();
        else reject(err);
      };
    });
    // Taken now, so that a reconnect while the first watch opens is seen.
    this.status = nc.status();
  }

  start(): void {
    if (this.stopped) return;
    void this.followStatus().catch(() => {});
    void this.run();
  }

  /** Closes the watch and opens no other; a watch still being opened is closed as soon as it is. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.current?.stop();
    this.wake?.();
    this.settle();
    // nats.js 2.x returns a QueuedIterator from status(), typed only as AsyncIterable; stop() ends it.
    const status = this.status;
    if ('stop' in status && typeof status.stop === 'function') status.stop();
  }

  private async followStatus(): Promise<void> {
    for await (const s of this.status) {
      if (s.type === Events.Disconnect) this.connected = false;
      if (s.type !== Events.Reconnect) continue;
      this.connected = true;
      this.generation += 1;
      this.current?.stop();
      this.wake?.();
    }
  }

  private async run(): Promise<void> {
    let pause = FIRST_PAUSE_MS;
    let first = true;
    while (!this.stopped) {
      const { outcome, opened } = await this.follow(first);
      first = false;
      if (this.stopped) return;
      if (opened) pause = FIRST_PAUSE_MS;
      if (outcome === 'reopen') continue;
      if (outcome === 'failed') this.onFailure();
      // Live tokens wait for the bucket's values no longer: there are none to wait for now.
      this.settle();
      await this.pauseFor(pause);
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    }
  }

  /** Opens one watch and hands over its values until it ends. */
  private async follow(first: boolean): Promise<{ outcome: Outcome; opened: boolean }> {
    const generation = this.generation;
    const superseded = () => this.stopped || generation !== this.generation;
    let watch: QueuedIterator<KvEntry>;
    try {
      const kv = await openBucket(this.nc);
      if (!kv) return { outcome: superseded() ? 'reopen' : 'missing', opened: false };
      if (superseded()) return { outcome: 'reopen', opened: false };
      watch = await kv.watch({ key: this.key, initializedFn: () => this.settle() });
    } catch (err) {
      if (first && !superseded()) this.fail(err);
      return { outcome: superseded() ? 'reopen' : 'failed', opened: false };
    }
    if (superseded()) {
      watch.stop();
      return { outcome: 'reopen', opened: true };
    }
    this.current = watch;
    try {
      for await (const entry of watch) {
        if (entry.operation === 'PUT' && entry.value.length > 0) this.onValue(entry.value);
      }
    } catch {
      // The watch failed (nats.js could not recreate its consumer): opened again below.
    } finally {
      this.current = undefined;
    }
    return { outcome: superseded() ? 'reopen' : 'failed', opened: true };
  }

  private fail(err: unknown): void {
    this.settle(err);
    this.stop();
  }

  /** Waits `ms`, or less if a reconnect or `stop()` comes first; past `ms`, still waits while disconnected. */
  private pauseFor(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
      timer = setTimeout(() => {
        if (this.connected) done();
      }, ms);
    });
  }
}

/** Binds to the bucket without creating it: a missing bucket means no token exists yet. */
export async function openBucket(nc: NatsConnection): Promise<KV | undefined> {
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
