import type { Kysely } from 'kysely';
import type { JsMsg, KV, NatsConnection } from 'nats';
import { Consumers, Streams } from '@refresher/contracts';
import type { Logger } from '@refresher/platform';
import type { Database } from '@refresher/db';
import { putTokenIfNewer } from '../tokens-kv.ts';
import { applyOutcomeEvents, type EventToApply, type NotApplied } from './apply-events.ts';
import { startBatcher } from './batcher.ts';
import { ensurePersistenceConsumer } from './consumer-config.ts';
import { takeInvalidations } from './invalidation.ts';
import { publishOutcomeNotices } from './notices.ts';
import type { OutcomeOptions } from './outcome-statement.ts';
import { parseOutcomeEvent, type OutcomeEvent } from './parse-event.ts';
import { publishNoticesAfterOutcome } from './people-notices.ts';
import { afterFailure, settle, type Settlement } from './settle.ts';
import type { AppliedWithPrior } from './transitions.ts';

/** Events applied together at most. */
export const EVENT_BATCH_MAX = 128;

export interface EventConsumer {
  stop(): Promise<void>;
}

interface ConsumerDeps {
  nc: NatsConnection;
  db: Kysely<Database>;
  kv: KV;
  log: Logger;
  /** FAILED_LOGIN_TRADING_STATUS; the statement's defaults without it. */
  outcomeOptions?: OutcomeOptions;
}

/**
 * Processes outcome events, up to `concurrency` unacknowledged at a time, in batches (batcher.ts):
 * each batch is applied together (applyOutcomeEvents), then the KV bucket and run notices are
 * updated and each message is acked. An event of a part that failed is applied once more alone, so
 * a single bad event cannot hold back the others; its own error decides (settle.ts): nak with a
 * growing delay (JetStream redelivers) or, for a message that cannot be valid, a dead letter.
 */
export async function startEventConsumer(deps: ConsumerDeps & { concurrency: number }): Promise<EventConsumer> {
  const ctx = { ...deps, log: deps.log.child({ module: 'event-consumer' }) };
  await ensurePersistenceConsumer(deps.nc);
  const consumer = await deps.nc.jetstream().consumers.get(Streams.events.name, Consumers.persistence);
  const messages = await consumer.consume({ max_messages: deps.concurrency });
  const batcher = startBatcher(
    messages,
    { batchMax: EVENT_BATCH_MAX, unfinishedMax: deps.concurrency },
    (batch) => handleBatch(ctx, batch),
    ctx.log,
  );
  return {
    stop: async () => {
      // Messages fetched but not started are not acked: JetStream redelivers them.
      await messages.close();
      await batcher.done.catch(() => {});
      await batcher.drain();
    },
  };
}

async function handleBatch(ctx: ConsumerDeps, received: JsMsg[]): Promise<void> {
  // Tokens found dead (tokens.invalidated.<userID>) are recorded on their own; the rest are outcomes.
  const batch = await takeInvalidations(ctx, received);
  const valid: Array<{ msg: JsMsg; outcome: OutcomeEvent }> = [];
  for (const msg of batch) {
    const parsed = parseOutcomeEvent(msg.subject, msg.data);
    if (parsed.ok) valid.push({ msg, outcome: parsed.value });
    else await settle(ctx, msg, { do: 'dead-letter', reason: parsed.reason });
  }
  if (valid.length === 0) return;
  const stored = valid.map((v) => storeToken(ctx.kv, v.outcome));
  const applied = await applyOrRetryAlone(
    ctx,
    valid.map((v) => ({ subject: v.msg.subject, outcome: v.outcome })),
  );
  await Promise.all(
    valid.map(async ({ msg, outcome }, i) => {
      const result = applied[i]!;
      const settlement = await decide(result, stored[i]!, msg.info.redeliveryCount);
      const done = 'failed' in result ? null : result;
      // The run notices follow the stored outcome and precede the ack.
      if (settlement.do === 'ack' && done?.recorded) publishOutcomeNotices(ctx.nc, done.recorded);
      // The notices for people (TOKEN_NOTICES) too: after the commit, before the ack.
      if (settlement.do === 'ack' && done) await publishNoticesAfterOutcome(ctx, outcome, done);
      await settle(ctx, msg, settlement, { userID: outcome.event.userID, kind: outcome.kind, duplicate: done?.duplicate });
    }),
  );
}

/** Applies the batch; an event that was not applied is tried once more alone. */
async function applyOrRetryAlone(ctx: ConsumerDeps, events: EventToApply[]): Promise<Array<AppliedWithPrior | NotApplied>> {
  const applied = await applyOutcomeEvents(ctx.db, events, new Date(), ctx.outcomeOptions);
  if (events.length === 1) return applied;
  const notApplied = events.flatMap((_, i) => ('failed' in applied[i]! ? [i] : []));
  if (notApplied.length === 0) return applied;
  ctx.log.warn(
    { err: (applied[notApplied[0]!] as NotApplied).failed, events: notApplied.length },
    'part of a batch not applied; applying its events one by one',
  );
  await Promise.all(
    notApplied.map(async (i) => (applied[i] = (await applyOutcomeEvents(ctx.db, [events[i]!], new Date(), ctx.outcomeOptions))[0]!)),
  );
  return applied;
}

/** Acked once both the database and the KV bucket hold the event; otherwise the failure decides. */
async function decide(applied: AppliedWithPrior | NotApplied, stored: Promise<unknown>, deliveries: number): Promise<Settlement> {
  if ('failed' in applied) return afterFailure(applied.failed, deliveries);
  try {
    await stored;
    return { do: 'ack' };
  } catch (err) {
    return afterFailure(err, deliveries);
  }
}

/**
 * The KV entry does not depend on the database (it has its own never-older guard), so it is
 * written while the statement runs. Rejections are handled where the promise is awaited.
 */
function storeToken(kv: KV, outcome: OutcomeEvent): Promise<unknown> {
  const write = outcome.kind === 'refreshed' ? putTokenIfNewer(kv, outcome.event) : Promise.resolve();
  write.catch(() => {});
  return write;
}
