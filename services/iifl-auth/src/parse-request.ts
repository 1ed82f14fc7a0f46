import { RefreshRequested } from '@refresher/contracts';
import { decodeJson, describeZodError } from '@refresher/platform';

const REQUEST_PREFIX = 'tokens.refresh.requested.';

/** A request message, validated: its payload is a `RefreshRequested` for the user its subject names. */
export function parseRequest(msg: {
  subject: string;
  data: Uint8Array;
}): { ok: true; request: RefreshRequested } | { ok: false; reason: string } {
  const json = decodeJson(msg.data);
  if (json === undefined) return { ok: false, reason: 'payload is not JSON' };
  const parsed = RefreshRequested.safeParse(json);
  if (!parsed.success) {
    return { ok: false, reason: `payload does not match RefreshRequested: ${describeZodError(parsed.error, '(payload)')}` };
  }
  const subjectUser = msg.subject.startsWith(REQUEST_PREFIX) ? msg.subject.slice(REQUEST_PREFIX.length) : '';
  if (subjectUser !== parsed.data.userID) {
    return { ok: false, reason: 'subject userID does not match payload userID' };
  }
  return { ok: true, request: parsed.data };
}
