import { FailureCode } from '@refresher/contracts';
import type { KeyAssociationWait } from './config.ts';
import { IiflError } from './errors.ts';
import { sleepWithSignal, type Sleep } from './sleep.ts';

/**
 * The wait between a key exchange and the step that first uses the key. The existing system waited
 * 10 s every time, with no stated reason; IIFL's own code never waits. `adaptive` starts without
 * it and learns, per host, that it is needed: when the step right after an exchange is refused
 * with an encryption-key code (EC056/EC057/EC062), that step is tried once more after the delay,
 * and every later login to that host waits first.
 */
export interface KeyAssociation {
  /** Runs `step` (the first call using a freshly exchanged key) under the wait rule for `host`. */
  afterExchange<T>(host: string, step: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Hosts that have shown they need the wait (for logs and tests). */
  waitingHosts(): string[];
}

export function createKeyAssociation(deps: { mode: KeyAssociationWait; delayMs: number; sleep: Sleep }): KeyAssociation {
  const learned = new Set<string>();
  const wait = (signal?: AbortSignal) => (deps.delayMs > 0 ? sleepWithSignal(deps.sleep, deps.delayMs, signal) : Promise.resolve());

  return {
    async afterExchange(host, step, signal) {
      const waitFirst = deps.mode === 'always' || learned.has(host);
      if (waitFirst) {
        await wait(signal);
        return step();
      }
      try {
        return await step();
      } catch (error) {
        if (!(error instanceof IiflError) || error.code !== FailureCode.EncryptionKeyRejected) throw error;
        learned.add(host);
        await wait(signal);
        return step();
      }
    },
    waitingHosts: () => [...learned],
  };
}
