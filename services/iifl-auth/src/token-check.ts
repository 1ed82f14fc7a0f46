import type { KV } from 'nats';
import { TokenRefreshed } from '@refresher/contracts';
import type { Egress, IiflClient } from '@refresher/iifl-client';
import type { Logger } from '@refresher/platform';
import type { AccountEgress } from './account-egress.ts';
import type { CheckClaim, TokenCheckMarks } from './token-check-marks.ts';
import { invalidatedEvent, type PublishInvalidated } from './token-invalidation.ts';
import { probeToken, type Verdict } from './token-probe.ts';

export interface TokenCheckDeps {
  /** The bucket `tokens`: the latest token per user, as persistence stored it. */
  tokensKv: Pick<KV, 'get'>;
  marks: TokenCheckMarks;
  client: Pick<IiflClient, 'checkToken'>;
  /**
   * Where the check leaves from: the egress a login of the user would use (account-egress.ts), as
   * IIFL answers a token only from the account's whitelisted addresses. Absent: the OS picks.
   */
  egressOf?: AccountEgress;
  publishInvalidated: PublishInvalidated;
  /**
   * Starts the refresh of a user whose token died and follows it; resolves with the time from which
   * another may be started for the same dead token, or null when none should be (refreshed, a login
   * link sent, credentials refused).
   */
  refresh(userID: string): Promise<string | null>;
  /** How long a refresh is given before another may be started for the same dead token. */
  refreshWaitMs: number;
  /** Runs a follow-up without waiting for it (the watch waits for it on stop). */
  detach(task: Promise<unknown>): void;
  now(): Date;
  log: Logger;
}

/**
 * What one visit of a user found: no login token to watch (none, pushed, or past its validity);
 * checked lately by this or another replica; the token works; no verdict; found dead now; a dead
 * token whose refresh is started again; a dead token left alone.
 */
export type CheckResult = 'not-watched' | 'taken' | 'alive' | 'unknown' | 'invalidated' | 'refreshed-again' | 'known-dead';

/** The user's stored token when it is a broker login's (a partner's pushed token is never checked). */
export async function readLoginToken(kv: Pick<KV, 'get'>, userID: string): Promise<TokenRefreshed | null> {
  const entry = await kv.get(userID);
  if (!entry || entry.operation !== 'PUT') return null;
  let value: unknown;
  try {
    value = entry.json();
  } catch {
    return null;
  }
  const token = TokenRefreshed.safeParse(value);
  return token.success && token.data.source === 'login' && token.data.userID === userID ? token.data : null;
}

/**
 * One visit of a user by the watch: claims the check (once per interval across replicas), uses
 * the token once at IIFL, and for a dead token announces `tokens.invalidated.<userID>` and starts
 * its refresh. A token already found dead is not checked again; its refresh is started again only
 * when the last one may pass on its own (a transient failure, or no outcome in time).
 */
export async function checkUser(deps: TokenCheckDeps, userID: string, signal: AbortSignal): Promise<CheckResult> {
  const token = await readLoginToken(deps.tokensKv, userID);
  const now = deps.now();
  if (!token || Date.parse(token.tokenValidity) <= now.getTime()) return 'not-watched';
  const claim = await deps.marks.claim(userID, token.loginTime, now);
  if (!claim) return 'taken';
  if (claim.mark.invalidatedAt !== null) {
    const { retryAt } = claim.mark;
    if (retryAt === null || Date.parse(retryAt) > now.getTime()) return 'known-dead';
    await startRefresh(deps, userID, claim, now);
    return 'refreshed-again';
  }
  const egress = await egressOf(deps, userID);
  if (egress === null) return 'unknown';
  const verdict = await probeToken(deps.client, userID, token.token, signal, egress.egress);
  if (verdict.kind === 'alive') return 'alive';
  if (verdict.kind === 'unknown') {
    if (signal.aborted) return 'unknown';
    deps.log.warn(
      { userID, code: verdict.code, brokerCode: verdict.brokerCode },
      'token check gave no verdict; checked again next interval',
    );
    return 'unknown';
  }
  await announce(deps, token, verdict, now);
  await startRefresh(deps, userID, claim, now);
  return 'invalidated';
}

/** The user's egress, or null (logged) when it cannot be known: no check then, as from elsewhere it would only get a 403. */
async function egressOf(deps: TokenCheckDeps, userID: string): Promise<{ egress: Egress | undefined } | null> {
  try {
    return { egress: await deps.egressOf?.(userID) };
  } catch (err) {
    deps.log.warn({ err, userID }, 'egress of the user unknown; token checked again next interval');
    return null;
  }
}

async function announce(deps: TokenCheckDeps, token: TokenRefreshed, verdict: Verdict & { kind: 'dead' }, now: Date): Promise<void> {
  const event = invalidatedEvent(token, verdict, now);
  await deps.publishInvalidated(event);
  deps.log.info(
    { userID: token.userID, loginTime: token.loginTime, reason: verdict.reason, brokerCode: verdict.brokerCode },
    'stored token no longer accepted by IIFL: announced, refreshing',
  );
}

/**
 * Marks the token dead with a retry time past the refresh's wait (a replica that dies while it
 * waits leaves a mark that lets the refresh be started again later), starts the refresh, and
 * records what it ended in.
 */
async function startRefresh(deps: TokenCheckDeps, userID: string, claim: CheckClaim, now: Date): Promise<void> {
  const waiting = {
    ...claim.mark,
    invalidatedAt: claim.mark.invalidatedAt ?? now.toISOString(),
    retryAt: new Date(now.getTime() + deps.refreshWaitMs).toISOString(),
  };
  const held = await deps.marks.record(userID, claim, waiting);
  deps.detach(
    deps.refresh(userID).then(async (retryAt) => {
      // Another replica's claim since (a refresh slower than the interval) keeps the waiting mark.
      if (held) await deps.marks.record(userID, held, { ...waiting, retryAt });
    }),
  );
}
