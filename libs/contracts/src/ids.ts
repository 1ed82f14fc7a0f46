import { z } from 'zod';

/**
 * A broker client id becomes part of NATS subjects, KV keys and SQL parameters, so only a strict
 * character set is accepted: letters, digits, '_' and '-' (no '.', '*', '>', spaces or slashes).
 * IIFL client ids are alphanumeric; integration-managed users carry UUIDs, which fit too.
 */
export const USER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const UserId = z.string().regex(USER_ID_PATTERN, 'userID must be 1-64 characters of A-Z, a-z, 0-9, "_" or "-"');
export type UserId = z.infer<typeof UserId>;

/** Run ids use the same safe set (they become subjects too). */
export const RunId = z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, 'runId must be 1-80 characters of A-Z, a-z, 0-9, "_" or "-"');
export type RunId = z.infer<typeof RunId>;

export const EventId = z.string().min(1).max(128);
export type EventId = z.infer<typeof EventId>;

export function isValidUserId(value: unknown): value is UserId {
  return typeof value === 'string' && USER_ID_PATTERN.test(value);
}
