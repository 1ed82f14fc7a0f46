import { sql, type Kysely } from 'kysely';
import type { JsMsg, NatsConnection } from 'nats';
import { TokenInvalidated } from '@refresher/contracts';
import type { Database } from '@refresher/db';
import { decodeJson, describeZodError, type Logger } from '@refresher/platform';
import { publishNoticeAfterInvalidation } from './people-notices.ts';
import { afterFailure, settle, type Settlement } from './settle.ts';

const PREFIX = 'tokens.invalidated.';

export type InvalidationParse = { ok: true; event: TokenInvalidated } | { ok: false; reason: string };

/** Validates a `tokens.invalidated.<userID>` message: the schema, and the same user as the subject. */
export function parseInvalidation(subject: string, data: Uint8Array): InvalidationParse {
  const userID = subject.slice(PREFIX.length);
  if (!subject.startsWith(PREFIX) || userID === '' || userID.includes('.')) return { ok: false, reason: `unexpected subject ${subject}` };
  const payload = decodeJson(data);
  if (payload === undefined) return { ok: false, reason: 'payload is not JSON' };
  const parsed = TokenInvalidated.safeParse(payload);
  if (!parsed.success) return { ok: false, reason: `invalid invalidated event: ${describeZodError(parsed.error)}` };
  if (parsed.data.userID !== userID) return { ok: false, reason: 'userID of the payload differs from the subject' };
  return { ok: true, event: parsed.data };
}

/** What recording an invalidation did: nothing (a duplicate event id), or whether the row still held that token. */
export interface InvalidationApplied {
  duplicate: boolean;
  /** The row held the dead token: its validity now ends at `invalidatedAt`, and the mark is recorded. */
  marked: boolean;
}

/**
 * Records a dead token in one statement, idempotent on the event id: only while the user's row
 * still holds that token (`"lastLoginTime"` = the event's `loginTime`), its `"tokenValidity"` ends
 * at `invalidatedAt` (never later than it was: the legacy trading code refuses orders once it has
 * passed, which is now the truth) and `user_refresh_state` keeps when, why and IIFL's code. A
 * newer token stored meanwhile is left alone.
 */
export async function applyInvalidation(
  db: Kysely<Database>,
  subject: string,
  event: TokenInvalidated,
  now = new Date(),
): Promise<InvalidationApplied> {
  const at = sql`${now.toISOString()}::timestamptz`;
  const invalidatedAt = sql`${event.invalidatedAt}::timestamptz`;
  const {
    rows: [result],
  } = await sql<{ fresh: number; marked: number }>`
    with fresh as (
      insert into processed_events (event_id, subject, processed_at) values (${event.eventId}, ${subject}, ${at})
      on conflict (event_id) do nothing
      returning event_id
    ), marked as (
      update "IIFLUser" u set
        "tokenValidity" = least(u."tokenValidity", ${invalidatedAt} at time zone 'UTC'), "updatedAt" = ${at} at time zone 'UTC'
      from fresh
      where u."userID" = ${event.userID} and u."lastLoginTime" = ${event.loginTime}::timestamptz at time zone 'UTC'
      returning u."userID"
    ), recorded as (
      insert into user_refresh_state as s (user_id, token_invalidated_at, token_invalidated_reason, token_invalidated_broker_code, updated_at)
      select "userID", ${invalidatedAt}, ${event.reason}, ${event.brokerCode}, ${at} from marked
      on conflict (user_id) do update set
        token_invalidated_at = excluded.token_invalidated_at, token_invalidated_reason = excluded.token_invalidated_reason,
        token_invalidated_broker_code = excluded.token_invalidated_broker_code, updated_at = excluded.updated_at
      where s.token_invalidated_at is null or s.token_invalidated_at <= excluded.token_invalidated_at
    )
    select (select count(*)::int from fresh) as fresh, (select count(*)::int from marked) as marked`.execute(db);
  return { duplicate: result!.fresh === 0, marked: result!.marked > 0 };
}

interface InvalidationDeps {
  nc: NatsConnection;
  db: Kysely<Database>;
  log: Logger;
}

/**
 * Takes the invalidation messages out of a batch of the events stream, records each (then acks;
 * a message that cannot be valid is dead-lettered, a failure naks it as for any event), and
 * returns the other messages for the outcome path.
 */
export async function takeInvalidations(deps: InvalidationDeps, batch: JsMsg[]): Promise<JsMsg[]> {
  const rest = batch.filter((msg) => !msg.subject.startsWith(PREFIX));
  if (rest.length === batch.length) return batch;
  await Promise.all(batch.filter((msg) => msg.subject.startsWith(PREFIX)).map((msg) => recordInvalidation(deps, msg)));
  return rest;
}

async function recordInvalidation(deps: InvalidationDeps, msg: JsMsg): Promise<void> {
  const parsed = parseInvalidation(msg.subject, msg.data);
  if (!parsed.ok) return settle(deps, msg, { do: 'dead-letter', reason: parsed.reason });
  const { userID } = parsed.event;
  let settlement: Settlement = { do: 'ack' };
  let applied: InvalidationApplied | undefined;
  try {
    applied = await applyInvalidation(deps.db, msg.subject, parsed.event);
  } catch (err) {
    settlement = afterFailure(err, msg.info.redeliveryCount);
  }
  if (applied?.marked) {
    deps.log.info({ userID, reason: parsed.event.reason }, 'stored token found dead: its validity ends now');
    await publishNoticeAfterInvalidation(deps, parsed.event);
  }
  await settle(deps, msg, settlement, { userID, kind: 'invalidated', duplicate: applied?.duplicate });
}
