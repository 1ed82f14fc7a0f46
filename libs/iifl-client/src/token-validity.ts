const HOUR_MS = 3_600_000;

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

/** The earlier of the JWT's `exp` (when it has one) and loginTime + validityHours. */
export function tokenValidity(token: string, loginTime: Date, validityHours: number): Date {
  const configured = new Date(loginTime.getTime() + validityHours * HOUR_MS);
  const exp = jwtExpiry(token);
  return exp && exp.getTime() < configured.getTime() ? exp : configured;
}
