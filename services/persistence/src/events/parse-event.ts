import { TokenFailed, TokenRefreshed, TokenSkipped } from '@refresher/contracts';
import { decodeJson, describeZodError } from '@refresher/platform';

export type OutcomeEvent =
  { kind: 'refreshed'; event: TokenRefreshed } | { kind: 'failed'; event: TokenFailed } | { kind: 'skipped'; event: TokenSkipped };

export type ParseResult = { ok: true; value: OutcomeEvent } | { ok: false; reason: string };

const SCHEMAS = { refreshed: TokenRefreshed, failed: TokenFailed, skipped: TokenSkipped } as const;

/**
 * Validates a message of the events stream by its subject (`tokens.<kind>.<userID>`): the payload
 * must match the kind's schema and name the same user as the subject.
 */
export function parseOutcomeEvent(subject: string, data: Uint8Array): ParseResult {
  const [prefix, kind, userID, ...rest] = subject.split('.');
  if (prefix !== 'tokens' || rest.length > 0 || !userID || !(kind === 'refreshed' || kind === 'failed' || kind === 'skipped')) {
    return { ok: false, reason: `unexpected subject ${subject}` };
  }
  const payload = decodeJson(data);
  if (payload === undefined) return { ok: false, reason: 'payload is not JSON' };
  const parsed = SCHEMAS[kind].safeParse(payload);
  if (!parsed.success) {
    return { ok: false, reason: `invalid ${kind} event: ${describeZodError(parsed.error)}` };
  }
  if (parsed.data.userID !== userID) return { ok: false, reason: 'userID of the payload differs from the subject' };
  return { ok: true, value: { kind, event: parsed.data } as OutcomeEvent };
}
