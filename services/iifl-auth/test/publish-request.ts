import { randomUUID } from 'node:crypto';
import type { NatsConnection } from 'nats';
import { RefreshRequested, Subjects } from '@refresher/contracts';
import { encodeJson } from '@refresher/platform';

/** Publishes a refresh request for `userID` in a run of its own, as a run's producer would. */
export async function publishRequest(nc: NatsConnection, userID: string): Promise<RefreshRequested> {
  const event = RefreshRequested.parse({
    v: 1,
    eventId: randomUUID(),
    runId: `run-${randomUUID()}`,
    userID,
    trigger: 'api',
    requestedAt: new Date().toISOString(),
  });
  await nc.jetstream().publish(Subjects.refreshRequested(userID), encodeJson(event), { msgID: `${event.runId}:${userID}` });
  return event;
}
