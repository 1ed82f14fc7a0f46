import { CREDENTIAL_FIELDS, type CredentialField } from './api/credentials.ts';
import { INTEGRATION_MANAGED } from './codes.ts';

/** The four broker credential columns of a user row, as stored (ciphertext or legacy plain text). */
export type StoredCredentials = Record<CredentialField, string>;

/** Integration-managed users hold the literal INTEGRATION_MANAGED in every credential column. */
export function isIntegrationManaged(row: StoredCredentials): boolean {
  return CREDENTIAL_FIELDS.every((field) => row[field] === INTEGRATION_MANAGED);
}
