import {
  CREDENTIAL_FIELDS,
  isIntegrationManaged,
  missingCredentials,
  type GetCredentialsResponse,
  type LoginFlow,
} from '@refresher/contracts';
import type { IIFLUserRow } from '@refresher/db';
import { InconsistentRowError } from '../errors.ts';

/**
 * The one place that reads broker credentials out of a user row. Values are served as stored:
 * ciphertext (`enc:v1:...`, opened only by iifl-auth, which holds the key) or, until
 * `pnpm credentials encrypt` has run, legacy plain text.
 */
export type CredentialColumns = Pick<IIFLUserRow, 'password' | 'appKey' | 'appSecret' | 'totpSecret'>;

/**
 * `persistence.credentials.get`'s answer, by the user's flow: no credentials for an
 * integration-managed user (its password column alone decides); appKey and appSecret for a
 * `redirect` user (whose password and TOTP seed may be empty: they type them at IIFL); all four for
 * a headless flow or the deployment default (null). A column the flow needs that is empty or holds
 * the INTEGRATION_MANAGED marker is a 409 naming the missing columns (names only, never values).
 */
export function readCredentials(
  row: CredentialColumns & Pick<IIFLUserRow, 'userID' | 'clientName'>,
  flow: LoginFlow | null,
): GetCredentialsResponse {
  const user = { userID: row.userID, clientName: row.clientName };
  if (isIntegrationManaged(row)) return { ...user, loginFlow: null, credentials: null };
  const missing = missingCredentials(row, flow === 'redirect' ? ['appKey', 'appSecret'] : CREDENTIAL_FIELDS);
  if (missing.length > 0) {
    throw new InconsistentRowError(
      `stored credentials are incomplete for the ${flow ?? 'default'} login flow: missing ${missing.join(', ')}`,
    );
  }
  if (flow === 'redirect') return { ...user, loginFlow: flow, credentials: { appKey: row.appKey, appSecret: row.appSecret } };
  const { password, appKey, appSecret, totpSecret } = row;
  return { ...user, loginFlow: flow, credentials: { password, appKey, appSecret, totpSecret } };
}
