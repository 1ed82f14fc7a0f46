import { FailureCode } from '@refresher/contracts';
import { asRecord } from './answers.ts';

/**
 * IIFL's login error codes (spec, "Responses and errors", from IIFL's error-code list) and what each
 * means here. A code not in this table is unknown: retried before any credential was sent, never
 * after (BROKER_REJECTED).
 */
export const BROKER_CODE_FAILURES: Readonly<Record<string, FailureCode>> = Object.freeze({
  EC016: FailureCode.BadCredentials,
  EC063: FailureCode.BadCredentials,
  EC079: FailureCode.BadCredentials,
  EC069: FailureCode.PasswordExpired,
  EC004: FailureCode.AccountBlocked,
  EC014: FailureCode.AccountBlocked,
  EC081: FailureCode.AccountBlocked,
  EC076: FailureCode.AccountBlocked,
  EC002: FailureCode.ClientNotFound,
  EC075: FailureCode.BrokerRejected,
  EC034: FailureCode.BadTotp,
  EC036: FailureCode.BadTotp,
  EC043: FailureCode.TotpNotEnabled,
  EC053: FailureCode.AppNotAuthorised,
  EC054: FailureCode.AppNotAuthorised,
  EC055: FailureCode.AppNotAuthorised,
  EC056: FailureCode.EncryptionKeyRejected,
  EC057: FailureCode.EncryptionKeyRejected,
  EC062: FailureCode.EncryptionKeyRejected,
  EC044: FailureCode.LoginExpired,
  EC003: FailureCode.RateLimited,
  // "A required field is empty": a bug of ours or a changed API; resending cannot help.
  EC001: FailureCode.BrokerRejected,
  EC005: FailureCode.BrokerRejected,
  EC008: FailureCode.BrokerRejected,
  EC009: FailureCode.BrokerRejected,
  EC010: FailureCode.BrokerRejected,
  EC017: FailureCode.BrokerRejected,
  EC026: FailureCode.BrokerRejected,
  EC038: FailureCode.BrokerRejected,
  EC039: FailureCode.BrokerRejected,
  EC047: FailureCode.BrokerRejected,
});

/** "Token is not valid": a dead session (or login token). */
export const SESSION_INVALID_CODE = 'EC044';
/** "Invalid T-OTP": one more try in the next step, then never. */
export const INVALID_TOTP_CODE = 'EC036';

const CODE_PATTERN = /^EC\d{3}$/i;
const MESSAGE_CODE_PATTERN = /^\s*(EC\d{3})\b/i;

function codeIn(value: unknown): string | null {
  return typeof value === 'string' && CODE_PATTERN.test(value.trim()) ? value.trim().toUpperCase() : null;
}

function codeAtStart(value: unknown): string | null {
  return typeof value === 'string' ? (MESSAGE_CODE_PATTERN.exec(value)?.[1]?.toUpperCase() ?? null) : null;
}

/** The records an answer's code and message may stand in: the body, then `result` or each `result[i]`. */
function places(body: unknown): Record<string, unknown>[] {
  const top = asRecord(body);
  if (!top) return [];
  const result = top['result'];
  const inner = Array.isArray(result) ? result.map(asRecord) : [asRecord(result)];
  return [top, ...inner.filter((r): r is Record<string, unknown> => r !== undefined)];
}

/**
 * IIFL's own `ECnnn`: in `status` (IIFL's error-code page), `code`, `result.status` /
 * `result[i].status` (multi-leg answers), or at the start of a `message` (`EC016 ...`).
 */
export function extractBrokerCode(body: unknown): string | null {
  for (const place of places(body)) {
    const code = codeIn(place['status']) ?? codeIn(place['code']) ?? codeAtStart(place['message']);
    if (code) return code;
  }
  return null;
}

/** Whether the answer says it failed: an error code, or `Not_Ok` anywhere a status stands. */
export function answerSaysFailure(body: unknown): boolean {
  if (extractBrokerCode(body) !== null) return true;
  return places(body).some((p) => typeof p['status'] === 'string' && p['status'].trim().toLowerCase() === 'not_ok');
}

/** IIFL's text, trimmed and bounded, with any leading `ECnnn` and separator removed. */
export function extractBrokerMessage(body: unknown): string | null {
  const all = places(body);
  const coded = all.find((p) => codeIn(p['status']) ?? codeIn(p['code']) ?? codeAtStart(p['message']));
  for (const place of coded ? [coded, ...all] : all) {
    const message = place['message'];
    if (typeof message !== 'string' || message.trim() === '') continue;
    const text = message
      .replace(MESSAGE_CODE_PATTERN, '')
      .replace(/^\s*[:\-–]\s*/, '')
      .trim();
    if (text === '' || /^success$/i.test(text)) continue;
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  }
  return null;
}

/** The failure for an IIFL `ECnnn`, or null for a code not in the table. */
export function failureForBrokerCode(brokerCode: string): FailureCode | null {
  return BROKER_CODE_FAILURES[brokerCode.toUpperCase()] ?? null;
}
