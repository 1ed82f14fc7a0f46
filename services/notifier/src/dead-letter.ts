import type { NatsConnection } from 'nats';
import { DeadLetter, Subjects } from '@refresher/contracts';
import { encodeJson } from '@refresher/platform';

export const DEAD_LETTER_SOURCE = 'notifier';
const MAX_PAYLOAD_BYTES = 64 * 1024;

/** Stores a notice that was not delivered (or is no notice), with the reason, in TOKEN_DLQ (`tokens.dlq.notifier`). */
export async function publishDeadLetter(
  nc: NatsConnection,
  input: { subject: string; reason: string; deliveries: number; data: Uint8Array },
): Promise<void> {
  const letter = DeadLetter.parse({
    v: 1,
    source: DEAD_LETTER_SOURCE,
    subject: input.subject.slice(0, 256),
    reason: input.reason.slice(0, 1000),
    deliveries: input.deliveries,
    payload: Buffer.from(input.data.subarray(0, MAX_PAYLOAD_BYTES)).toString('base64'),
    at: new Date().toISOString(),
  });
  await nc.jetstream().publish(Subjects.deadLetter(DEAD_LETTER_SOURCE), encodeJson(letter));
}
