import { createHmac, timingSafeEqual } from 'node:crypto';

/** The headers of every delivery (lower case, as Node's HTTP server presents them). */
export const Headers = {
  /** The notice's id: the same on every retry and for every webhook; receivers drop repeats by it. */
  id: 'x-refresher-id',
  /** The notice's type (`tokens.run.completed`, ...). */
  event: 'x-refresher-event',
  /** Unix seconds when this attempt was signed. */
  timestamp: 'x-refresher-timestamp',
  /** `sha256=` and the hex HMAC-SHA256, keyed by WEBHOOK_SECRET, of `<timestamp>.<body>`. */
  signature: 'x-refresher-signature',
  /** 1 for the first attempt, then counting the retries (not signed: it is information only). */
  attempt: 'x-refresher-attempt',
} as const;

/** How far a receiver should let a timestamp be from its own clock (both ways): 5 minutes. */
export const REPLAY_WINDOW_SECONDS = 300;

/** `sha256=<hex>`: the HMAC-SHA256 of `<timestamp>.<body>` with the secret. */
export function signatureOf(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The headers of one attempt to deliver `body`, signed now. */
export function deliveryHeaders(
  secret: string,
  notice: { id: string; type: string },
  body: string,
  attempt: number,
  now = Date.now(),
): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': 'iifl-token-refresher-notifier/1',
    [Headers.id]: notice.id,
    [Headers.event]: notice.type,
    [Headers.timestamp]: String(timestamp),
    [Headers.signature]: signatureOf(secret, timestamp, body),
    [Headers.attempt]: String(attempt),
  };
}

export type Verification = { ok: true } | { ok: false; reason: string };

/**
 * What a receiver does (the README's recipe): the timestamp must be within the replay window of
 * its clock, and the signature must equal the HMAC of `<timestamp>.<raw body>`, compared in
 * constant time.
 */
export function verifySignature(input: {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  body: string;
  now?: number;
  windowSeconds?: number;
}): Verification {
  const { secret, body, now = Date.now(), windowSeconds = REPLAY_WINDOW_SECONDS } = input;
  if (!input.timestamp || !/^\d{1,12}$/.test(input.timestamp)) return { ok: false, reason: 'no timestamp' };
  const timestamp = Number(input.timestamp);
  if (Math.abs(now / 1000 - timestamp) > windowSeconds) return { ok: false, reason: 'timestamp outside the replay window' };
  const expected = Buffer.from(signatureOf(secret, timestamp, body));
  const given = Buffer.from(input.signature ?? '');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature does not match' };
  return { ok: true };
}
