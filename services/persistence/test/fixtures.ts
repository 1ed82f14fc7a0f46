import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { TokenFailed, TokenRefreshed } from '@refresher/contracts';
import { ServiceCallError } from '@refresher/platform';

/** A login's token event (`runId` null: outside a run), valid for 12 hours from the login. */
export function refreshed(userID: string, runId: string | null, loginTime: string, token = `token-${userID}-${loginTime}`): TokenRefreshed {
  return TokenRefreshed.parse({
    v: 1,
    eventId: randomUUID(),
    runId,
    userID,
    token,
    tokenValidity: new Date(Date.parse(loginTime) + 12 * 3600_000).toISOString(),
    loginTime,
    source: 'login',
    attempts: 1,
  });
}

/** A login's failure event, at `failedAt` (now unless given). */
export function failed(userID: string, runId: string, code: TokenFailed['code'], failedAt = new Date().toISOString()): TokenFailed {
  return TokenFailed.parse({
    v: 1,
    eventId: randomUUID(),
    runId,
    userID,
    code,
    brokerCode: 'EC016',
    message: `login failed: ${code}`,
    retryable: false,
    attempts: 1,
    failedAt,
  });
}

/** Shaped like an encrypted value; persistence cannot tell it from a real one (it has no key). */
export function fakeCiphertext(): string {
  return `enc:v1:k1:${randomBytes(12).toString('base64url')}:${randomBytes(40).toString('base64url')}`;
}

export function encrypted() {
  return { password: fakeCiphertext(), appKey: fakeCiphertext(), appSecret: fakeCiphertext(), totpSecret: fakeCiphertext() };
}

/** The service error a call was refused with (the test fails if it was not refused). */
export async function refusal(promise: Promise<unknown>): Promise<ServiceCallError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServiceCallError);
  return err as ServiceCallError;
}
