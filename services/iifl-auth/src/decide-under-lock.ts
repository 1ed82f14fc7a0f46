import type { Logger } from '@refresher/platform';
import type { RefreshRequested } from '@refresher/contracts';
import { GateAbortedError, type LoginLease, type LoginLock } from './login-lock.ts';
import { joinedEvent, type OutgoingEvent } from './outgoing-events.ts';
import { aborted, decideRefresh, type CredentialsRead, type Decision, type DeciderDeps, type Delivery } from './refresh-decision.ts';

export interface UnderLockDeps {
  lock: LoginLock;
  decider: DeciderDeps;
  log: Logger;
  /** The user's flow and credentials from persistence (never rejects). */
  credentialsOf(userID: string): Promise<CredentialsRead>;
  /** The message stored at `seq` in the events stream. */
  storedEvent(seq: number): Promise<{ subject: string; data: Uint8Array }>;
}

/** The code an outcome announces: a failure's code, a skip's reason, none for a token. */
export function outcomeCode(event: OutgoingEvent): string | null {
  if ('code' in event.payload) return event.payload.code;
  if ('reason' in event.payload) return event.payload.reason;
  return null;
}

/**
 * Takes the account's lock (or joins the login under way) and decides under it. The lease is
 * returned held (null when the login was joined): the caller finishes it with the outcome's
 * sequence, or releases it. Stopped while waiting for the lock: the decision for an abort.
 */
export async function decideUnderLock(deps: UnderLockDeps, d: Delivery): Promise<{ decision: Decision; lease: LoginLease | null }> {
  try {
    return await claimAndDecide(deps, d);
  } catch (err) {
    if (!(err instanceof GateAbortedError)) throw err;
    return { decision: aborted(d, 0), lease: null };
  }
}

async function claimAndDecide(deps: UnderLockDeps, d: Delivery): Promise<{ decision: Decision; lease: LoginLease | null }> {
  const { request, signal } = d;
  // Credentials are read while the lock is claimed (one round trip less before the login), and
  // read again if the account was busy: they may have changed while this request waited.
  const early = deps.credentialsOf(request.userID);
  let claim = await deps.lock.claim(request.userID, signal);
  if (claim.role === 'joined') {
    const decision = await joinedDecision(deps, request, claim.seq);
    if (decision) return { decision, lease: null };
    claim = await deps.lock.claim(request.userID, signal, { join: false });
    if (claim.role !== 'holder') throw new Error('login lock: a claim without joining joined');
  }
  const lease = claim.lease;
  try {
    const credentials = claim.waited ? deps.credentialsOf(request.userID) : early;
    return { decision: await decideRefresh(deps.decider, d, await credentials), lease };
  } catch (err) {
    await lease.release();
    throw err;
  }
}

/**
 * The login this request waited for ended with the event stored at `seq`: the same outcome,
 * announced for this request's run. Null when that event cannot be read or is not for this user.
 */
async function joinedDecision(deps: UnderLockDeps, request: RefreshRequested, seq: number): Promise<Decision | null> {
  try {
    const stored = await deps.storedEvent(seq);
    const event = joinedEvent(request, stored.subject, stored.data);
    if (!event) return null;
    return { kind: 'publish', event, code: outcomeCode(event), attempts: 0, joined: true };
  } catch (err) {
    deps.log.warn({ userID: request.userID, err }, 'could not read the outcome of the login joined');
    return null;
  }
}
