import { CredentialDecryptError, decryptField, isEncrypted, type Keyring } from '@refresher/credential-crypto';
import type { BrokerCredentials } from '@refresher/contracts';

/** Where persistence keeps credentials: bound into each encrypted value. */
const TABLE = 'IIFLUser';
const COLUMNS = ['password', 'appKey', 'appSecret', 'totpSecret'] as const;

export class CredentialsUnreadableError extends Error {
  override name = 'CredentialsUnreadableError';
}

/**
 * Opens credentials as persistence returned them: values encrypted at rest (`enc:v1:...`) are
 * decrypted with this service's key ring; plain-text legacy values pass unchanged. Error messages
 * name the column, never a value.
 */
export function openCredentials(keyring: Keyring | null, userID: string, stored: BrokerCredentials): BrokerCredentials {
  const open = (column: (typeof COLUMNS)[number]): string => {
    const value = stored[column];
    if (!isEncrypted(value)) return value;
    if (!keyring) throw new CredentialsUnreadableError(`${column} is encrypted and no CREDENTIALS_KEY is configured`);
    try {
      return decryptField(keyring, value, { table: TABLE, column, row: userID });
    } catch (err) {
      if (err instanceof CredentialDecryptError) throw new CredentialsUnreadableError(err.message, { cause: err });
      throw err;
    }
  };
  return {
    password: open('password'),
    appKey: open('appKey'),
    appSecret: open('appSecret'),
    totpSecret: open('totpSecret'),
  };
}
