/** The `exp` claim of a JWT as a Date, without verifying it; null when absent or not a JWT. */
export function jwtExpiry(token: string): Date | null {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (typeof payload !== 'object' || payload === null) return null;
    const exp = (payload as Record<string, unknown>)['exp'];
    const seconds = typeof exp === 'string' && exp.trim() !== '' ? Number(exp) : exp;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return null;
    return new Date(seconds * 1000);
  } catch {
    return null;
  }
}

/** Minutes east of UTC of `timeZone` at `at` (IST: 330). */
function offsetMinutes(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((wall - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
}

/**
 * The first instant at or after `from` whose wall-clock time in `timeZone` is `hhmm` (HH:MM): the
 * end of the trading day by the configured rule.
 */
export function nextTimeOfDay(from: Date, hhmm: string, timeZone: string): Date {
  const [hours, minutes] = hhmm.split(':').map(Number) as [number, number];
  const offset = offsetMinutes(from, timeZone);
  const wallNow = new Date(from.getTime() + offset * 60_000);
  const wallTarget = Date.UTC(wallNow.getUTCFullYear(), wallNow.getUTCMonth(), wallNow.getUTCDate(), hours, minutes);
  let target = new Date(wallTarget - offsetMinutes(new Date(wallTarget - offset * 60_000), timeZone) * 60_000);
  if (target.getTime() < from.getTime()) {
    const tomorrow = wallTarget + 86_400_000;
    target = new Date(tomorrow - offsetMinutes(new Date(tomorrow - offset * 60_000), timeZone) * 60_000);
  }
  return target;
}

export interface ValidityRule {
  /** HH:MM: the end of the trading day when the token carries no `exp`. */
  validUntil: string;
  timeZone: string;
}

/**
 * Until when a session token is valid: its JWT `exp` when it has one (IIFL says only that a new
 * login is needed each trading day; the token is the authority), otherwise the configured end of
 * the trading day after the login.
 */
export function tokenValidity(token: string, loginTime: Date, rule: ValidityRule): Date {
  return jwtExpiry(token) ?? nextTimeOfDay(loginTime, rule.validUntil, rule.timeZone);
}
