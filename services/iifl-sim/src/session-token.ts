import { createHmac, randomBytes } from 'node:crypto';

const IST_OFFSET_MS = (5 * 60 + 30) * 60_000;
const DAY_MS = 86_400_000;

/** The first midnight in Asia/Kolkata (UTC+5:30, no DST) strictly after `timeMs`. */
export function nextIstMidnight(timeMs: number): number {
  const istDayStart = Math.floor((timeMs + IST_OFFSET_MS) / DAY_MS) * DAY_MS;
  return istDayStart + DAY_MS - IST_OFFSET_MS;
}

const b64url = (value: Buffer | string): string => Buffer.from(value).toString('base64url');
const HEADER = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

export interface SessionClaims {
  sub: string;
  clientId: string;
  iat: number;
  exp: number;
  jti: string;
}

/** An HS256 JWT signed with the simulator's own secret; it dies at the next IST midnight. */
export function signSession(secret: Buffer, clientId: string, nowMs: number): { token: string; claims: SessionClaims } {
  const claims: SessionClaims = {
    sub: clientId,
    clientId,
    iat: Math.floor(nowMs / 1000),
    exp: Math.floor(nextIstMidnight(nowMs) / 1000),
    jti: randomBytes(12).toString('base64url'),
  };
  const body = `${HEADER}.${b64url(JSON.stringify(claims))}`;
  const signature = createHmac('sha256', secret).update(body).digest('base64url');
  return { token: `${body}.${signature}`, claims };
}
