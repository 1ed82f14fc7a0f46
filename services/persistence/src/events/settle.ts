import type { JsMsg, NatsConnection } from 'nats';
import { backoffCeiling, publishDeadLetter, type Logger } from '@refresher/platform';
import { MAX_DELIVER } from './consumer-config.ts';

/** What to do with an event message once it is decided. */
export type Settlement =
  | { do: 'ack' }
  /** Redeliver after `delayMs`: the failure may pass. */
  | { do: 'nak'; delayMs: number; err: unknown }
  /** Store a dead letter with `reason`, then terminate (nak when the dead letter cannot be stored). */
  | { do: 'dead-letter'; reason: string };

/** Redelivery delays: 1 s doubling up to 30 s. */
const NAK_BACKOFF = { baseMs: 1_000, maxDelayMs: 30_000 };

/** SQLSTATE classes of data and integrity errors: the same message will fail the same way again. */
function isPermanentDbError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23)/.test(code);
}

/** A message that could not be processed on its `deliveries`-th delivery. */
export function afterFailure(err: unknown, deliveries: number): Settlement {
  const message = err instanceof Error ? err.message : String(err);
  if (isPermanentDbError(err)) return { do: 'dead-letter', reason: `rejected by the database: ${message}` };
  if (deliveries >= MAX_DELIVER) return { do: 'dead-letter', reason: `still failing after ${deliveries} deliveries: ${message}` };
  return { do: 'nak', delayMs: backoffCeiling(NAK_BACKOFF, deliveries), err };
}

export interface SettleDeps {
  nc: NatsConnection;
  log: Logger;
}

/** The one place an event message is acked, handed back (nak) or dead-lettered and terminated. */
export async function settle(deps: SettleDeps, msg: JsMsg, settlement: Settlement, context: object = {}): Promise<void> {
  const deliveries = msg.info.redeliveryCount;
  switch (settlement.do) {
    case 'ack':
      msg.ack();
      deps.log.debug(context, 'event processed');
      return;
    case 'nak':
      deps.log.warn({ ...context, err: settlement.err, deliveries }, 'event not processed; it will be redelivered');
      msg.nak(settlement.delayMs);
      return;
    case 'dead-letter':
      try {
        await publishDeadLetter(deps.nc.jetstream(), 'persistence', {
          subject: msg.subject,
          reason: settlement.reason,
          deliveries,
          data: msg.data,
        });
      } catch (err) {
        deps.log.error({ err, subject: msg.subject }, 'could not dead-letter an event; it will be redelivered');
        msg.nak(backoffCeiling(NAK_BACKOFF, deliveries));
        return;
      }
      msg.term();
      deps.log.warn({ subject: msg.subject, reason: settlement.reason }, 'event dead-lettered');
  }
}
