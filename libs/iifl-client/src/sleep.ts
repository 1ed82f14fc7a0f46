import { setTimeout as delay } from 'node:timers/promises';

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => delay(ms).then(() => undefined);

/** Runs an injected sleep, ending early (rejecting with the signal's reason) when `signal` aborts. */
export function sleepWithSignal(sleep: Sleep, ms: number, signal?: AbortSignal): Promise<void> {
  if (!signal) return sleep(ms);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    sleep(ms).then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
