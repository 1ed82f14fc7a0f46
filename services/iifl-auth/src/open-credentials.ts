import { CredentialDecryptError, decryptField, isEncrypted, type Keyring } from '@refresher/credential-crypto';
import type { BrokerCredentials, CredentialField } from '@refresher/contracts';

/** Where persistence keeps credentials: bound into each encrypted value. */
const TABLE = 'IIFLUser';

export class CredentialsUnreadableError extends Error {
  override name = 'CredentialsUnreadableError';
}

/**
 * Opens one credential as persistence returned it: a value encrypted at rest (`enc:v1:...`) is
 * decrypted with this service's key ring; a plain-text legacy value passes unchanged. Error
 * messages name the column, never a value.
 */
export function openCredential(keyring: Keyring | null, userID: string, column: CredentialField, value: string): string {
  if (!isEncrypted(value)) return value;
  if (!keyring) throw new CredentialsUnreadableError(`${column} is encrypted and no CREDENTIALS_KEY is configured`);
  try {
    return decryptField(keyring, value, { table: TABLE, column, row: userID });
  } catch (err) {
    if (err instanceof CredentialDecryptError) throw new CredentialsUnreadableError(err.message, { cause: err });
    throw err;
  }
}

/** All four credentials of a headless login, opened. */
export function openCredentials(keyring: Keyring | null, userID: string, stored: BrokerCredentials): BrokerCredentials {
  const open = (column: CredentialField) => openCredential(keyring, userID, column, stored[column]);
  return { password: open('password'), appKey: open('appKey'), appSecret: open('appSecret'), totpSecret: open('totpSecret') };
}
