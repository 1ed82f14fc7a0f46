import { setTimeout as sleep } from 'node:timers/promises';
import type { KV, KvEntry } from 'nats';
import type { Logger } from '@refresher/platform';
import { isWrongLastSequence } from './shared-totp-guard.ts';

/**
 * One login per broker account at a time, across every replica: a key per account in a KV bucket
 * whose entries expire after `ttlMs` (the bucket's max age). The holder renews its entry every
 * `ttlMs / 3`; a holder that dies leaves an entry that expires. When the holder's outcome event is
 * stored, the entry becomes `done` with that event's stream sequence, and every request that found
 * the login running joins it: it announces the same outcome for its own run instead of logging in
 * again. A request that finds no entry, or only a `done` entry older than its arrival, logs in.
 */
export interface LoginLock {
  /**
   * Takes the account's lock, or waits for the login under way and joins it. With `join: false`
   * it never joins: it waits until the account is free and takes the lock. Rejects with
   * {@link GateAbortedError} when `signal` aborts while waiting.
   */
  claim(userID: string, signal: AbortSignal, options?: { join?: boolean }): Promise<LoginClaim>;
  /** Accounts whose lock this replica holds right now. */
  held(): number;
}

/** `waited`: the holder found the account busy first (what it read before may be out of date). */
export type LoginClaim = { role: 'holder'; lease: LoginLease; waited: boolean } | { role: 'joined'; seq: number };

export interface LoginLease {
  /** The outcome event is stored at `seq` in the events stream: waiting requests join it. */
  finish(seq: number): Promise<void>;
  /** Nothing to share (handed back, or a fault): the next request logs in itself. */
  release(): Promise<void>;
}

export class GateAbortedError extends Error {
  override name = 'GateAbortedError';
  constructor() {
    super('stopped while waiting for another login of the same user');
  }
}

type LockValue = { state: 'running'; owner: string } | { state: 'done'; owner: string; seq: number };

export interface LoginLockDeps {
  kv: KV;
  /** The bucket's max age: how long the entry of a holder that died keeps others waiting. */
  ttlMs: number;
  /** How often a waiting request looks at the entry of a login running on another replica. */
  pollMs: number;
  /** This replica's name in lock entries (logs and diagnosis only). */
  owner: string;
  log: Logger;
}

const encoder = new TextEncoder();

export function createLoginLock(deps: LoginLockDeps): LoginLock {
  const { kv, log } = deps;
  // Logins this replica holds: requests in this process wait on the promise instead of polling.
  const local = new Map<string, Promise<number | null>>();

  function read(entry: KvEntry | null): LockValue | null {
    if (!entry || entry.operation !== 'PUT') return null;
    try {
      const value = entry.json<LockValue>();
      if (value.state === 'running' || (value.state === 'done' && Number.isSafeInteger(value.seq))) return value;
    } catch {
      // Not ours: treated as free.
    }
    return null;
  }

  async function take(userID: string, entry: KvEntry | null): Promise<number | null> {
    const value = encoder.encode(JSON.stringify({ state: 'running', owner: deps.owner } satisfies LockValue));
    try {
      return entry ? await kv.update(userID, value, entry.revision) : await kv.create(userID, value);
    } catch (err) {
      if (isWrongLastSequence(err)) return null;
      throw err;
    }
  }

  function hold(userID: string, firstRevision: number): LoginLease {
    let revision = firstRevision;
    let ended = false;
    let chain = Promise.resolve();
    let settle!: (seq: number | null) => void;
    local.set(userID, new Promise<number | null>((resolve) => (settle = resolve)));
    const running = encoder.encode(JSON.stringify({ state: 'running', owner: deps.owner } satisfies LockValue));

    const renew = () => {
      chain = chain.then(async () => {
        if (ended) return;
        try {
          revision = await kv.update(userID, running, revision);
        } catch (err) {
          log.warn({ userID, err }, 'could not renew the login lock');
        }
      });
    };
    const timer = setInterval(renew, Math.max(100, Math.floor(deps.ttlMs / 3)));

    const end = async (write: () => Promise<unknown>, seq: number | null) => {
      if (ended) return;
      ended = true;
      clearInterval(timer);
      await chain;
      await write().catch((err: unknown) => log.warn({ userID, err }, 'could not update the login lock'));
      local.delete(userID);
      settle(seq);
    };
    return {
      finish: (seq) =>
        end(() => kv.update(userID, encoder.encode(JSON.stringify({ state: 'done', owner: deps.owner, seq } satisfies LockValue)), revision), seq),
      release: () => end(() => kv.delete(userID, { previousSeq: revision }), null),
    };
  }

  async function pause(ms: number, signal: AbortSignal): Promise<void> {
    try {
      await sleep(ms, undefined, { signal });
    } catch {
      throw new GateAbortedError();
    }
  }

  return {
    async claim(userID, signal, options = {}) {
      const join = options.join ?? true;
      // Revision of the first `running` entry this request saw: a `done` entry written after it is
      // the outcome of a login that was under way while this request waited.
      let sawRunning: number | undefined;
      let waited = false;
      let triedCreate = false;
      for (;;) {
        if (signal.aborted) throw new GateAbortedError();
        const mine = local.get(userID);
        if (mine) {
          waited = true;
          const seq = await waitOrAbort(mine, signal);
          if (seq !== null && join) return { role: 'joined', seq };
          continue;
        }
        // Most accounts have no entry (the last login's expired): try to take it in one round trip.
        if (!triedCreate) {
          triedCreate = true;
          const revision = await take(userID, null);
          if (revision !== null) return { role: 'holder', lease: hold(userID, revision), waited };
          if (signal.aborted) throw new GateAbortedError();
        }
        const entry = await kv.get(userID);
        const value = read(entry);
        if (value?.state === 'running') {
          sawRunning ??= entry!.revision;
          waited = true;
          await pause(deps.pollMs, signal);
          continue;
        }
        if (join && value?.state === 'done' && sawRunning !== undefined && entry!.revision > sawRunning) {
          return { role: 'joined', seq: value.seq };
        }
        if (local.has(userID)) continue; // taken in this process while we were reading
        const revision = await take(userID, entry);
        if (revision === null) continue; // another request took it in between
        return { role: 'holder', lease: hold(userID, revision), waited };
      }
    },
    held: () => local.size,
  };
}

function waitOrAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new GateAbortedError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new GateAbortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
