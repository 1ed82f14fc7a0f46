import { randomUUID } from 'node:crypto';
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

/**
 * How long a claim rides out a bucket it cannot write (a NATS restart, or the election of a new
 * leader in a cluster, takes seconds): the password was sent already, and a login given up here
 * would leave IIFL a login in progress while its retry sends the password again.
 */
export const CLAIM_OUTAGE_MS = 15_000;
const OUTAGE_PAUSE_MS = 250;

export function createSharedTotpGuard(deps: { kv: KV; now?: () => Date; outageMs?: number }): SharedTotpGuard {
  const now = deps.now ?? (() => new Date());
  const outageMs = deps.outageMs ?? CLAIM_OUTAGE_MS;
  // The entry `fresh` read, per account, until `claim` uses it: the claim's first compare-and-set
  // goes without reading again (a change in between makes it fail, and the claim reads afresh).
  const seen = new Map<string, KvEntry | null>();
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
      // Each claim writes a value of its own, so a write whose acknowledgement was lost is known
      // as ours when read back, and never taken for another login's use of the step.
      const mine = randomUUID();
      let attempted: { at: Date; value: string } | null = null;
      let troubleSince: number | null = null;
      const known = seen.get(userID);
      seen.delete(userID);
      let entry: KvEntry | null | undefined = known;
      for (;;) {
        signal?.throwIfAborted();
        try {
          entry ??= await deps.kv.get(userID);
          if (attempted && entry?.operation === 'PUT' && entry.string() === attempted.value) return attempted.at;
          const at = now();
          const step = totpStep(at);
          const used = usedStep(entry);
          if (used >= step) {
            // Wait until step `used + 1` begins.
            await sleep(Math.max(1, (used + 1) * STEP_MS - at.getTime()), undefined, signal ? { signal } : {});
            entry = undefined;
            continue;
          }
          attempted = { at, value: `${step}/${mine}` };
          if (entry) await deps.kv.update(userID, attempted.value, entry.revision);
          else await deps.kv.create(userID, attempted.value);
          return at;
        } catch (err) {
          signal?.throwIfAborted();
          entry = undefined;
          // Another login took a step in between (compare-and-set lost): look again.
          if (isWrongLastSequence(err)) continue;
          troubleSince ??= Date.now();
          if (Date.now() - troubleSince >= outageMs) throw err;
          await sleep(OUTAGE_PAUSE_MS, undefined, signal ? { signal } : {});
        }
      }
    },
  };
}

/** The step a value records: `<step>/<claim id>`, or `<step>` as written before claim ids. */
function usedStep(entry: KvEntry | null | undefined): number {
  return entry && entry.operation === 'PUT' ? Number.parseInt(entry.string(), 10) : Number.NaN;
}

/** JetStream's "wrong last sequence" (10071): a compare-and-set on a KV key lost the race. */
export function isWrongLastSequence(err: unknown): boolean {
  const apiError = (err as { api_error?: { err_code?: unknown } } | null)?.api_error;
  if (apiError?.err_code === 10071) return true;
  return err instanceof Error && /wrong last sequence/i.test(err.message);
}
