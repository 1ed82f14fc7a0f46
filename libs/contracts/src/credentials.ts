import { CREDENTIAL_FIELDS, type CredentialField } from './api/credentials.ts';
import { INTEGRATION_MANAGED } from './codes.ts';

/** The four broker credential columns of a user row, as stored (ciphertext or legacy plain text). */
export type StoredCredentials = Record<CredentialField, string>;

/**
 * Integration-managed users hold the literal INTEGRATION_MANAGED in their password column. The
 * password alone decides, as in the existing system (spec, "Its database table"): such a row is
 * never logged in, whatever its other columns hold.
 */
export function isIntegrationManaged(row: Pick<StoredCredentials, 'password'>): boolean {
  return row.password === INTEGRATION_MANAGED;
}

/**
 * The columns among `needed` that hold no credential: empty, or the INTEGRATION_MANAGED marker
 * (which is never a value). Names only, in the order given.
 */
export function missingCredentials(row: StoredCredentials, needed: readonly CredentialField[] = CREDENTIAL_FIELDS): CredentialField[] {
  return needed.filter((field) => row[field].length === 0 || row[field] === INTEGRATION_MANAGED);
}
