import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CREDENTIAL_FIELDS, type StoredCredentials } from '@refresher/contracts';

/**
 * A salted SHA-256 over the four credential columns, stored when the broker rejects them, so a
 * later run can tell whether they changed without keeping a copy of them: `<salt>:<digest>`.
 */
export function credentialsFingerprint(row: StoredCredentials, salt = randomBytes(16).toString('hex')): string {
  const hash = createHash('sha256').update(salt);
  for (const field of CREDENTIAL_FIELDS) hash.update('\0').update(row[field]);
  return `${salt}:${hash.digest('hex')}`;
}

/** Whether the credentials are still the ones a stored fingerprint was taken of (constant-time compare). */
export function matchesFingerprint(row: StoredCredentials, fingerprint: string): boolean {
  const [salt] = fingerprint.split(':');
  if (!salt) return false;
  const expected = Buffer.from(fingerprint);
  const actual = Buffer.from(credentialsFingerprint(row, salt));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
