import type { JetStreamClient } from 'nats';
import { DeadLetter, Subjects } from '@refresher/contracts';
import { encodeJson } from './nats.ts';

const MAX_PAYLOAD_BYTES = 64 * 1024;

export interface DeadLetterInput {
  subject: string;
  reason: string;
  deliveries: number;
  data: Uint8Array;
}

/** What `source` writes to `tokens.dlq.<source>` for a message it cannot process; the payload cut to 64 KiB. */
export function deadLetterOf(source: string, input: DeadLetterInput): DeadLetter {
  return DeadLetter.parse({
    v: 1,
    source,
    subject: input.subject.slice(0, 256),
    reason: input.reason.slice(0, 1000),
    deliveries: input.deliveries,
    payload: Buffer.from(input.data.subarray(0, MAX_PAYLOAD_BYTES)).toString('base64'),
    at: new Date().toISOString(),
  });
}

/** Stores a message that cannot be processed, with the reason, in the dead-letter stream (TOKEN_DLQ). */
export async function publishDeadLetter(js: JetStreamClient, source: string, input: DeadLetterInput): Promise<void> {
  await js.publish(Subjects.deadLetter(source), encodeJson(deadLetterOf(source, input)));
}
