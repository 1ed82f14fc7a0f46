import { sql, type Kysely } from 'kysely';
import { RunId, type ListRunsRequest, type ListRunsResponse } from '@refresher/contracts';
import type { Database } from '@refresher/db';
import { BadRequestError } from '../errors.ts';
import { runHeader } from './run-header.ts';

/** Where a page ends: the last row's `requested_at` to the microsecond (as Postgres holds it) and its run id. */
interface Position {
  at: string;
  runId: string;
}

const AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/**
 * Run headers, newest first, a page at a time, paged by key: the next page holds the rows after
 * (`requested_at`, `run_id`) of the last row in that order, so no row repeats and none is missed
 * however many runs start meanwhile (they sort before the cursor). The index on `requested_at`
 * serves the order and the bound.
 */
export async function listRuns(db: Kysely<Database>, request: ListRunsRequest): Promise<ListRunsResponse> {
  const after = request.before === undefined ? undefined : decodeCursor(request.before);
  let query = db
    .selectFrom('refresh_runs')
    .selectAll()
    .select(sql<string>`to_char(requested_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('position_at'))
    .orderBy('requested_at', 'desc')
    .orderBy('run_id', 'desc')
    .limit(request.limit + 1);
  if (after) {
    query = query.where(
      sql<boolean>`requested_at <= ${after.at}::timestamptz and (requested_at, run_id) < (${after.at}::timestamptz, ${after.runId})`,
    );
  }
  if (request.allUsersOnly) query = query.where('user_id', 'is', null);
  const rows = await query.execute();
  const page = rows.slice(0, request.limit);
  const last = page.at(-1);
  return {
    runs: page.map((row) => runHeader(row)),
    next: rows.length > request.limit && last ? encodeCursor({ at: last.position_at, runId: last.run_id }) : null,
  };
}

export function encodeCursor(position: Position): string {
  return Buffer.from(`${position.at} ${position.runId}`, 'utf8').toString('base64url');
}

/** The position a cursor names; a 400 for anything this service did not make. */
export function decodeCursor(cursor: string): Position {
  const [at, runId, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split(' ');
  if (
    at === undefined ||
    !AT.test(at) ||
    Number.isNaN(Date.parse(at)) ||
    runId === undefined ||
    !RunId.safeParse(runId).success ||
    rest.length > 0
  ) {
    throw new BadRequestError('before is not a cursor of this list (use the next of an earlier page)');
  }
  return { at, runId };
}
