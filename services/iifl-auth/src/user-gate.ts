/**
 * One login per broker account at a time in this process. A request for a user whose login is in
 * flight waits for it and then runs its own login: it never borrows the other request's outcome,
 * because each request belongs to its own run and must produce its own event. (The IIFL client
 * makes sure that second login does not reuse the first one's TOTP step.)
 */
export interface UserGate {
  /**
   * Runs `fn` holding the user's lock. Rejects with {@link GateAbortedError} when `signal` aborts
   * while still waiting for the lock.
   */
  withUser<T>(userID: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T>;
  /** Users with a login in flight or waiting for one. */
  busyUsers(): number;
}

export class GateAbortedError extends Error {
  override name = 'GateAbortedError';
  constructor() {
    super('stopped while waiting for another login of the same user');
  }
}

export function createUserGate(): UserGate {
  // Per user, the promise that settles when the last holder queued so far releases the lock.
  const tails = new Map<string, Promise<void>>();

  return {
    async withUser(userID, signal, fn) {
      const previous = tails.get(userID) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((resolve) => (release = resolve));
      const tail = previous.then(() => mine);
      tails.set(userID, tail);
      const done = () => {
        release();
        if (tails.get(userID) === tail) tails.delete(userID);
      };
      try {
        await waitOrAbort(previous, signal);
      } catch (err) {
        // Leaving the queue early: whoever queued after us still waits for `previous` first.
        done();
        throw err;
      }
      try {
        return await fn();
      } finally {
        done();
      }
    },
    busyUsers: () => tails.size,
  };
}

function waitOrAbort(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new GateAbortedError());
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(new GateAbortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
