import type { NatsConnection } from 'nats';
import { PersistenceApi, type MorningStatus } from '@refresher/contracts';
import { cachedReadiness, callService, type ReadinessCheck } from '@refresher/platform';

export function getMorningStatus(nc: NatsConnection, timeoutMs = 5_000): Promise<MorningStatus> {
  return callService(nc, PersistenceApi.morningStatus, {}, timeoutMs);
}

/** A `/readyz` check from the latest morning, asked of persistence at most every 5 s. */
export function morningReadiness(nc: NatsConnection, timeoutMs = 3_000): ReadinessCheck {
  return cachedReadiness(() => getMorningStatus(nc, timeoutMs), 'morning');
}
