import type { JetStreamClient, JsMsg } from 'nats';
import { publishDeadLetter, type Logger } from '@refresher/platform';
import { SOURCE } from './outgoing-events.ts';

/** What to do with a request message once it is decided. */
export type Settlement =
  /** After the outcome event is stored. */
  | { do: 'ack'; outcome: Outcome }
  | { do: 'nak'; delayMs: number }
  | { do: 'term' }
  /** Store a dead letter with `reason`, then terminate; `otherwise` when the dead letter cannot be stored. */
  | { do: 'dead-letter'; reason: string; otherwise: { do: 'nak'; delayMs: number } | { do: 'term' } };

/** The outcome a request's event announced. */
export type Outcome = 'refreshed' | 'failed' | 'skipped';

/** What became of one request message (for logs and tests). */
export type HandleResult = Outcome | 'handed-back' | 'dead-lettered';

/** A request this replica could not finish: handed back, or on its last delivery dead-lettered. */
export function giveUp(lastDelivery: boolean, reason: string, nakDelayMs: number): Settlement {
  return lastDelivery ? { do: 'dead-letter', reason, otherwise: { do: 'term' } } : { do: 'nak', delayMs: nakDelayMs };
}

/**
 * A request no delivery can handle (not valid): dead-lettered at once; handed back when the dead
 * letter cannot be stored, unless this is its last delivery.
 */
export function rejectInvalid(lastDelivery: boolean, reason: string, nakDelayMs: number): Settlement {
  return { do: 'dead-letter', reason, otherwise: lastDelivery ? { do: 'term' } : { do: 'nak', delayMs: nakDelayMs } };
}

export interface SettleDeps {
  js: JetStreamClient;
  log: Logger;
}

/**
 * The one place a request message is acked, handed back (nak), dead-lettered or terminated.
 * `context` goes into the log lines (userID, runId...).
 */
export async function settleMessage(deps: SettleDeps, msg: JsMsg, settlement: Settlement, context: object = {}): Promise<HandleResult> {
  switch (settlement.do) {
    case 'ack':
      await msg.ackAck().catch((err: unknown) => deps.log.warn({ ...context, err }, 'ack not confirmed'));
      return settlement.outcome;
    case 'nak':
      msg.nak(settlement.delayMs);
      return 'handed-back';
    case 'term':
      // No reason argument: servers before 2.10.4 ignore a `+TERM <reason>` (the reason is in the dead letter).
      msg.term();
      return 'dead-lettered';
    case 'dead-letter':
      try {
        const letter = { subject: msg.subject, reason: settlement.reason, deliveries: msg.info.redeliveryCount, data: msg.data };
        await publishDeadLetter(deps.js, SOURCE, letter);
      } catch (err) {
        deps.log.error({ ...context, err, subject: msg.subject }, 'could not dead-letter the request');
        return settleMessage(deps, msg, settlement.otherwise, context);
      }
      return settleMessage(deps, msg, { do: 'term' }, context);
  }
}
