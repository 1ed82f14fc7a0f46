import { sql, type Kysely } from 'kysely';
import { isRetryableCode, type RetryOf } from '@refresher/contracts';
import type { Database, IIFLUserRow, RefreshRunRow } from '@refresher/db';
import { RunNotFoundError } from '../errors.ts';
import { listLiveUsers } from '../users/user.repository.ts';
import { findRun } from './run.repository.ts';

export interface RetryCandidates {
  /** The first run of the chain: the new run is linked to it. */
  root: string;
  /** Live users to consider, in the legacy table's order (run rules such as rejection marks still apply). */
  users: IIFLUserRow[];
}

/**
 * The users a retry of `retry.of` covers: those whose latest outcome in the chain (the first run and
 * every run linked to it) is a failure of the asked kind, who are still live, and who have not
 * logged in since the chain began (an operator's one-user refresh, the day watch, a partner's push).
 */
export async function selectRetryCandidates(db: Kysely<Database>, retry: RetryOf): Promise<RetryCandidates> {
  const asked = await findRun(db, retry.of);
  if (!asked) throw new RunNotFoundError(retry.of);
  const root = asked.retry_of ? await findRun(db, asked.retry_of) : asked;
  if (!root) throw new RunNotFoundError(asked.retry_of!);
  const failed = await latestFailures(db, root);
  const wanted = new Set(failed.filter((f) => retry.failures === 'all' || isRetryableCode(f.code)).map((f) => f.user_id));
  const since = root.requested_at.getTime();
  const users = (await listLiveUsers(db)).filter((u) => wanted.has(u.userID) && !(u.lastLoginTime && u.lastLoginTime.getTime() > since));
  return { root: root.run_id, users };
}

/** Per user of the chain, the outcome of the latest run that asked for a login, when it failed. */
async function latestFailures(db: Kysely<Database>, root: RefreshRunRow): Promise<{ user_id: string; code: string | null }[]> {
  const result = await sql<{ user_id: string; outcome: string; code: string | null }>`
    select distinct on (o.user_id) o.user_id, o.outcome, o.code
    from refresh_outcomes o join refresh_runs r on r.run_id = o.run_id
    where (r.run_id = ${root.run_id} or r.retry_of = ${root.run_id}) and o.requested
    order by o.user_id, r.requested_at desc, r.run_id desc`.execute(db);
  return result.rows.filter((r) => r.outcome === 'failed');
}
