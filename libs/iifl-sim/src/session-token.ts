import { createSign, generateKeyPair, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { SessionExp } from './types.ts';

const IST_OFFSET_MS = (5 * 60 + 30) * 60_000;
const DAY_MS = 86_400_000;

/** The first midnight in Asia/Kolkata (UTC+5:30, no DST) strictly after `timeMs`. */
export function nextIstMidnight(timeMs: number): number {
  const istDayStart = Math.floor((timeMs + IST_OFFSET_MS) / DAY_MS) * DAY_MS;
  return istDayStart + DAY_MS - IST_OFFSET_MS;
}

const b64url = (value: Buffer | string): string => Buffer.from(value).toString('base64url');
const HEADER = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));

export interface SessionClaims {
  sub: string;
  /** The client id: IIFL's own code reads it here. */
  preferred_username: string;
  iat: number;
  /** Absent when the `sessionExp` knob is `none`. */
  exp?: number;
  jti: string;
}

/** The session's end in epoch ms under a `sessionExp` rule, or undefined for none. */
export function sessionExpiry(rule: SessionExp, nowMs: number): number | undefined {
  if (rule === 'none') return undefined;
  if (rule === 'ist-midnight') return nextIstMidnight(nowMs);
  return nowMs + rule;
}

export interface SessionSigner {
  /** SPKI PEM of the verifying key. */
  publicKeyPem: string;
  publicJwk: JsonWebKey;
  sign(clientId: string, nowMs: number, rule: SessionExp): { token: string; claims: SessionClaims };
}

/** One RSA-2048 key pair per simulator; each session costs one RS256 signature. */
export async function createSessionSigner(): Promise<SessionSigner> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicJwk: { ...publicKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig' },
    sign: (clientId, nowMs, rule) => signSession(privateKey, clientId, nowMs, rule),
  };
}

function signSession(key: KeyObject, clientId: string, nowMs: number, rule: SessionExp): { token: string; claims: SessionClaims } {
  const iat = Math.floor(nowMs / 1000);
  const claims: SessionClaims = { sub: clientId, preferred_username: clientId, iat, jti: randomBytes(12).toString('base64url') };
  const expiresAt = sessionExpiry(rule, nowMs);
  // Whole seconds, rounded up: a session lives at least as long as the rule says.
  if (expiresAt !== undefined) claims.exp = Math.ceil(expiresAt / 1000);
  const body = `${HEADER}.${b64url(JSON.stringify(claims))}`;
  const signature = createSign('RSA-SHA256').update(body).sign(key).toString('base64url');
  return { token: `${body}.${signature}`, claims };
}
