import type { Kysely } from 'kysely';
import type { NatsConnection } from 'nats';
import { Notice, NoticeIds, noticeSubject, type TokenInvalidated } from '@refresher/contracts';
import type { Database } from '@refresher/db';
import { encodeJson, type Logger } from '@refresher/platform';
import type { OutcomeEvent } from './parse-event.ts';
import { readRunReport } from './run-report.ts';
import { transitionNotice, type AppliedWithPrior } from './transitions.ts';

// Notices for people, on JetStream (stream TOKEN_NOTICES) for the notifier. Each is published once
// what it tells is committed in Postgres and before the event that caused it is acked; its id is
// its message id, so one published again within the stream's duplicate window is stored once.

const PUBLISH_TIMEOUT_MS = 5_000;

export interface NoticeDeps {
  nc: NatsConnection;
  db: Kysely<Database>;
  log: Logger;
}

/**
 * Publishes one notice. Never rejects: the records in Postgres stand whatever happens here, so a
 * notice JetStream does not take is logged as lost rather than holding back the event's ack.
 */
export async function publishNotice(deps: NoticeDeps, notice: Notice): Promise<void> {
  try {
    const valid = Notice.parse(notice);
    await deps.nc.jetstream().publish(noticeSubject(valid), encodeJson(valid), { msgID: valid.id, timeout: PUBLISH_TIMEOUT_MS });
    deps.log.debug({ notice: valid.id }, 'notice published');
  } catch (err) {
    deps.log.error({ err, notice: notice.id, type: notice.type }, 'notice not published');
  }
}

/** The report of a run that has just completed (nothing when it has not). */
export async function publishRunReport(deps: NoticeDeps, runId: string): Promise<void> {
  let report;
  try {
    report = await readRunReport(deps.db, runId);
  } catch (err) {
    deps.log.error({ err, runId }, 'run report not read: its notice is not published');
    return;
  }
  if (report) await publishNotice(deps, report);
}

/**
 * After an outcome event is committed: the user's transition (failed, recovered) when this fresh
 * event made one, and the run's report when it was the run's last outcome.
 */
export async function publishNoticesAfterOutcome(deps: NoticeDeps, outcome: OutcomeEvent, applied: AppliedWithPrior): Promise<void> {
  const transition = applied.duplicate ? null : transitionNotice(outcome, applied.prior, new Date());
  await Promise.all([
    transition ? publishNotice(deps, transition) : undefined,
    applied.recorded?.completed ? publishRunReport(deps, applied.recorded.runId) : undefined,
  ]);
}

/** After a dead token is recorded on the row that held it: `tokens.invalidated`. */
export async function publishNoticeAfterInvalidation(deps: NoticeDeps, event: TokenInvalidated): Promise<void> {
  let clientName = '';
  try {
    const row = await deps.db.selectFrom('IIFLUser').select('clientName').where('userID', '=', event.userID).executeTakeFirst();
    clientName = row?.clientName.slice(0, 200) ?? '';
  } catch (err) {
    deps.log.warn({ err, userID: event.userID }, 'client name not read for a notice');
  }
  await publishNotice(deps, {
    v: 1,
    id: NoticeIds.invalidated(event.eventId),
    at: new Date().toISOString(),
    type: 'tokens.invalidated',
    userID: event.userID,
    clientName,
    loginTime: event.loginTime,
    invalidatedAt: event.invalidatedAt,
    reason: event.reason,
    brokerCode: event.brokerCode,
  });
}
