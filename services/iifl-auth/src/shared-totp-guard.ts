import { setTimeout as sleep } from 'node:timers/promises';
import type { KV, KvEntry } from 'nats';
import { totpStep, TOTP_STEP_SECONDS, type TotpStepGuard } from '@refresher/iifl-client';

const STEP_MS = TOTP_STEP_SECONDS * 1000;

/**
 * The IIFL client's TOTP step guard over a KV bucket every replica shares: the last step used per
 * account, claimed with compare-and-set, so no two logins of one account send a code of the same
 * step, whichever replicas they run on (a replica that died after sending a code included).
 * Replicas' clocks are assumed to agree well within a step (NTP).
 */
export interface SharedTotpGuard extends TotpStepGuard {
  /**
   * Resolves once the current step is one no login of the account has used, without claiming it.
   * Called before a login starts, so the wait for a fresh step does not fall between the password
   * step and the TOTP step, where the broker's login token could expire.
   */
  fresh(userID: string, signal?: AbortSignal): Promise<void>;
}

export function createSharedTotpGuard(deps: { kv: KV; now?: () => Date }): SharedTotpGuard {
  const now = deps.now ?? (() => new Date());
  // The entry `fresh` read, per account, until `claim` uses it: the claim's first compare-and-set
  // goes without reading again (a change in between makes it fail, and the claim reads afresh).
  const seen = new Map<string, KvEntry | null>();
  const usedStep = (entry: KvEntry | null) => (entry && entry.operation === 'PUT' ? Number(entry.string()) : Number.NaN);
  return {
    async fresh(userID, signal) {
      for (;;) {
        signal?.throwIfAborted();
        const at = now();
        const entry = await deps.kv.get(userID);
        const used = usedStep(entry);
        if (!(used >= totpStep(at))) {
          seen.set(userID, entry);
          return;
        }
        await sleep(Math.max(1, (used + 1) * STEP_MS - at.getTime()), undefined, signal ? { signal } : {});
      }
    },
    async claim(userID, signal) {
      for (;;) {
        signal?.throwIfAborted();
        const at = now();
        const step = totpStep(at);
        const known = seen.get(userID);
        seen.delete(userID);
        const entry = known !== undefined ? known : await deps.kv.get(userID);
        const used = usedStep(entry);
        if (!(used >= step)) {
          try {
            if (entry) await deps.kv.update(userID, String(step), entry.revision);
            else await deps.kv.create(userID, String(step));
            return at;
          } catch (err) {
            // Another login took a step in between (compare-and-set lost): look again.
            if (!isWrongLastSequence(err)) throw err;
            continue;
          }
        }
        // Wait until step `used + 1` begins.
        const wait = Math.max(1, (used + 1) * STEP_MS - at.getTime());
        await sleep(wait, undefined, signal ? { signal } : {});
      }
    },
  };
}

/** JetStream's "wrong last sequence" (10071): a compare-and-set on a KV key lost the race. */
export function isWrongLastSequence(err: unknown): boolean {
  const apiError = (err as { api_error?: { err_code?: unknown } } | null)?.api_error;
  if (apiError?.err_code === 10071) return true;
  return err instanceof Error && /wrong last sequence/i.test(err.message);
}
