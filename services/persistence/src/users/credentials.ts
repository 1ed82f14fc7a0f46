import { CREDENTIAL_FIELDS, isIntegrationManaged, type GetCredentialsResponse, type LoginFlow } from '@refresher/contracts';
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
 * integration-managed user; appKey and appSecret for a `redirect` user (whose password and TOTP seed
 * may be empty: they type them at IIFL); all four for a headless flow or the deployment default (null).
 */
export function readCredentials(
  row: CredentialColumns & Pick<IIFLUserRow, 'userID' | 'clientName'>,
  flow: LoginFlow | null,
): GetCredentialsResponse {
  const user = { userID: row.userID, clientName: row.clientName };
  if (isIntegrationManaged(row)) return { ...user, loginFlow: null, credentials: null };
  const needed = flow === 'redirect' ? (['appKey', 'appSecret'] as const) : CREDENTIAL_FIELDS;
  if (needed.some((column) => row[column].length === 0)) {
    throw new InconsistentRowError(`stored credentials are incomplete for the ${flow ?? 'default'} login flow`);
  }
  if (flow === 'redirect') return { ...user, loginFlow: flow, credentials: { appKey: row.appKey, appSecret: row.appSecret } };
  const { password, appKey, appSecret, totpSecret } = row;
  return { ...user, loginFlow: flow, credentials: { password, appKey, appSecret, totpSecret } };
}
