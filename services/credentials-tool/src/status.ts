import type { Kysely } from 'kysely';
import { CREDENTIAL_FIELDS, INTEGRATION_MANAGED, isIntegrationManaged } from '@refresher/contracts';
import { keyIdOf } from '@refresher/credential-crypto';
import type { Database } from '@refresher/db';

export interface StatusReport {
  users: number;
  integrationManaged: number;
  /** Users with at least one plain-text credential. */
  usersWithPlainText: number;
  plainTextValues: number;
  /** Encrypted values per key id. */
  valuesByKeyId: Record<string, number>;
}

/** What is stored, by kind: needs no key (ids are in the clear). */
export async function credentialsStatus(db: Kysely<Database>): Promise<StatusReport> {
  const status: StatusReport = { users: 0, integrationManaged: 0, usersWithPlainText: 0, plainTextValues: 0, valuesByKeyId: {} };
  let after = 0;
  for (;;) {
    const rows = await db
      .selectFrom('IIFLUser')
      .select(['id', ...CREDENTIAL_FIELDS])
      .where('id', '>', after)
      .orderBy('id')
      .limit(500)
      .execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      status.users += 1;
      if (isIntegrationManaged(row)) status.integrationManaged += 1;
      let plain = 0;
      for (const column of CREDENTIAL_FIELDS) {
        if (row[column] === INTEGRATION_MANAGED) continue; // a marker, not a secret
        const keyId = keyIdOf(row[column]);
        if (keyId === null) plain += 1;
        else status.valuesByKeyId[keyId] = (status.valuesByKeyId[keyId] ?? 0) + 1;
      }
      status.plainTextValues += plain;
      if (plain > 0) status.usersWithPlainText += 1;
    }
    after = rows[rows.length - 1]!.id;
  }
  return status;
}
