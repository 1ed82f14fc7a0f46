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

export type LockValue = { state: 'running'; owner: string } | { state: 'done'; owner: string; seq: number };

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

/** What a claim does next, from the entry it read. */
export type ClaimStep = { step: 'wait' } | { step: 'join'; seq: number } | { step: 'take' };

/**
 * The entry says a login is running: wait. It says done, written after the first `running` entry
 * this request saw (`sawRunning`, a revision): join that outcome. Otherwise (free, expired, or a
 * `done` older than this request): take the lock.
 */
export function claimStep(value: LockValue | null, revision: number, sawRunning: number | undefined, join: boolean): ClaimStep {
  if (value?.state === 'running') return { step: 'wait' };
  if (join && value?.state === 'done' && sawRunning !== undefined && revision > sawRunning) return { step: 'join', seq: value.seq };
  return { step: 'take' };
}

/** A lock entry as this service writes it; anything else is treated as free. */
export function readLockEntry(entry: Pick<KvEntry, 'operation' | 'json'> | null): LockValue | null {
  if (!entry || entry.operation !== 'PUT') return null;
  try {
    const value = entry.json<LockValue>();
    if (value.state === 'running' || (value.state === 'done' && Number.isSafeInteger(value.seq))) return value;
  } catch {
    // Not ours: treated as free.
  }
  return null;
}

interface LockState {
  deps: LoginLockDeps;
  /** Logins this replica holds: requests in this process wait on the promise instead of polling. */
  local: Map<string, Promise<number | null>>;
  running: Uint8Array;
}

export function createLoginLock(deps: LoginLockDeps): LoginLock {
  const state: LockState = {
    deps,
    local: new Map(),
    running: encoder.encode(JSON.stringify({ state: 'running', owner: deps.owner } satisfies LockValue)),
  };
  return {
    claim: (userID, signal, options = {}) => claim(state, userID, signal, options.join ?? true),
    held: () => state.local.size,
  };
}

/** Writes a `running` entry over `entry` (or a new one); null when another request was first. */
async function take(state: LockState, userID: string, entry: KvEntry | null): Promise<number | null> {
  const { kv } = state.deps;
  try {
    return entry ? await kv.update(userID, state.running, entry.revision) : await kv.create(userID, state.running);
  } catch (err) {
    if (isWrongLastSequence(err)) return null;
    throw err;
  }
}

async function claim(state: LockState, userID: string, signal: AbortSignal, join: boolean): Promise<LoginClaim> {
  // Revision of the first `running` entry this request saw: a `done` entry written after it is
  // the outcome of a login that was under way while this request waited.
  let sawRunning: number | undefined;
  let waited = false;
  let triedCreate = false;
  for (;;) {
    if (signal.aborted) throw new GateAbortedError();
    const mine = state.local.get(userID);
    if (mine) {
      waited = true;
      const seq = await waitOrAbort(mine, signal);
      if (seq !== null && join) return { role: 'joined', seq };
      continue;
    }
    // Most accounts have no entry (the last login's expired): try to take it in one round trip.
    if (!triedCreate) {
      triedCreate = true;
      const revision = await take(state, userID, null);
      if (revision !== null) return { role: 'holder', lease: hold(state, userID, revision), waited };
      if (signal.aborted) throw new GateAbortedError();
    }
    const entry = await state.deps.kv.get(userID);
    const next = claimStep(readLockEntry(entry), entry?.revision ?? 0, sawRunning, join);
    if (next.step === 'wait') {
      sawRunning ??= entry!.revision;
      waited = true;
      await pause(state.deps.pollMs, signal);
      continue;
    }
    if (next.step === 'join') return { role: 'joined', seq: next.seq };
    if (state.local.has(userID)) continue; // taken in this process while we were reading
    const revision = await take(state, userID, entry);
    if (revision === null) continue; // another request took it in between
    return { role: 'holder', lease: hold(state, userID, revision), waited };
  }
}

/** The lease of a lock just taken at `firstRevision`: renewed every ttl/3 until finished or released. */
function hold(state: LockState, userID: string, firstRevision: number): LoginLease {
  const { kv, log, ttlMs, owner } = state.deps;
  let revision = firstRevision;
  let ended = false;
  let chain = Promise.resolve();
  let settle!: (seq: number | null) => void;
  state.local.set(userID, new Promise<number | null>((resolve) => (settle = resolve)));

  const renew = () => {
    chain = chain.then(async () => {
      if (ended) return;
      try {
        revision = await kv.update(userID, state.running, revision);
      } catch (err) {
        log.warn({ userID, err }, 'could not renew the login lock');
      }
    });
  };
  const timer = setInterval(renew, Math.max(100, Math.floor(ttlMs / 3)));

  const end = async (write: () => Promise<unknown>, seq: number | null) => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    await chain;
    await write().catch((err: unknown) => log.warn({ userID, err }, 'could not update the login lock'));
    state.local.delete(userID);
    settle(seq);
  };
  const done = (seq: number) => encoder.encode(JSON.stringify({ state: 'done', owner, seq } satisfies LockValue));
  return {
    finish: (seq) => end(() => kv.update(userID, done(seq), revision), seq),
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
