import { CREDENTIAL_FIELDS, INTEGRATION_MANAGED, type StoredCredentials } from '@refresher/contracts';
import { decryptField, encryptField, isEncrypted, keyIdOf, type Keyring } from '@refresher/credential-crypto';

export const TABLE = 'IIFLUser';

/**
 * `encrypt` encrypts plain-text values under the current key and leaves encrypted ones alone;
 * `rotate` does that and also re-encrypts values of any other key id under the current one.
 */
export type ReencryptMode = 'encrypt' | 'rotate';

/** What one row becomes: its new values and what was done to them. */
export interface RowPlan {
  next: StoredCredentials;
  encrypted: number;
  reencrypted: number;
  /** Values left under another key id (`encrypt` does not rotate). */
  underOtherKeys: number;
}

/**
 * Decides, column by column, what a row's credentials become: a column holding the
 * INTEGRATION_MANAGED marker stays as it is (the password's marker is what makes a user
 * integration-managed), every other value is encrypted, so a row with the marker in its password and
 * real values elsewhere keeps those encrypted. Throws `CredentialDecryptError` when a value cannot
 * be opened (tampered, or its key is missing): the row is then left as it is.
 */
export function planRow(keyring: Keyring, mode: ReencryptMode, userID: string, stored: StoredCredentials): RowPlan {
  const next = Object.fromEntries(CREDENTIAL_FIELDS.map((column) => [column, stored[column]])) as StoredCredentials;
  const plan: RowPlan = { next, encrypted: 0, reencrypted: 0, underOtherKeys: 0 };
  for (const column of CREDENTIAL_FIELDS) {
    const value = stored[column];
    const context = { table: TABLE, column, row: userID };
    if (value.length === 0) continue; // an empty value stays visibly broken
    if (value === INTEGRATION_MANAGED) continue; // a marker, not a secret
    if (!isEncrypted(value)) {
      plan.next[column] = encryptField(keyring, value, context);
      plan.encrypted += 1;
    } else if (keyIdOf(value) !== keyring.current) {
      if (mode === 'rotate') {
        plan.next[column] = encryptField(keyring, decryptField(keyring, value, context), context);
        plan.reencrypted += 1;
      } else {
        plan.underOtherKeys += 1;
      }
    } else if (mode === 'rotate') {
      // Proves the value still opens: a tampered one is reported now, not at 03:00.
      decryptField(keyring, value, context);
    }
  }
  return plan;
}
