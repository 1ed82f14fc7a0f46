import type { Kysely } from 'kysely';
import { CREDENTIAL_FIELDS, type CredentialField } from '@refresher/contracts';
import { CredentialDecryptError, decryptField, encryptField, isEncrypted, keyIdOf, type Keyring } from '@refresher/credential-crypto';
import type { Database } from '@refresher/db';
import { credentialsFingerprint, isIntegrationManaged, matchesFingerprint } from '@refresher/persistence';

export const TABLE = 'IIFLUser';

/**
 * `encrypt` encrypts plain-text values under the current key and leaves encrypted ones alone;
 * `rotate` does that and also re-encrypts values of any other key id under the current one.
 */
export type ReencryptMode = 'encrypt' | 'rotate';

export interface ReencryptReport {
  mode: ReencryptMode;
  keyId: string;
  usersScanned: number;
  usersRewritten: number;
  integrationManaged: number;
  valuesEncrypted: number;
  valuesReencrypted: number;
  /** Values left under another key id (`encrypt` does not rotate). */
  valuesUnderOtherKeys: number;
  /** "Credentials rejected" marks recomputed for the new ciphertext, so they still hold. */
  marksCarried: number;
  /** Rows left as they were because a value could not be opened (tampered, or its key is missing). */
  failures: { userID: string; reason: string }[];
}

type Columns = Record<CredentialField, string>;

/**
 * Goes through the table in id order, one transaction per user (row locked), so it can be stopped
 * at any point and run again: rows done are skipped, the rest are done. The rejected-credentials
 * mark holds a fingerprint of the stored values; a rewritten row gets it recomputed, or a rotation
 * would lift every mark and cost each of those users one more wrong-password login.
 */
export async function reencryptAll(
  db: Kysely<Database>,
  keyring: Keyring,
  mode: ReencryptMode,
  options: { batchSize?: number; onProgress?: (report: ReencryptReport) => void } = {},
): Promise<ReencryptReport> {
  const report: ReencryptReport = {
    mode,
    keyId: keyring.current,
    usersScanned: 0,
    usersRewritten: 0,
    integrationManaged: 0,
    valuesEncrypted: 0,
    valuesReencrypted: 0,
    valuesUnderOtherKeys: 0,
    marksCarried: 0,
    failures: [],
  };
  const batchSize = options.batchSize ?? 200;
  let after = 0;
  for (;;) {
    const batch = await db.selectFrom('IIFLUser').select(['id']).where('id', '>', after).orderBy('id').limit(batchSize).execute();
    if (batch.length === 0) break;
    for (const { id } of batch) await reencryptRow(db, keyring, mode, id, report);
    after = batch[batch.length - 1]!.id;
    options.onProgress?.(report);
  }
  return report;
}

async function reencryptRow(
  db: Kysely<Database>,
  keyring: Keyring,
  mode: ReencryptMode,
  id: number,
  report: ReencryptReport,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('IIFLUser')
      .select(['userID', ...CREDENTIAL_FIELDS])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!row) return; // removed meanwhile
    report.usersScanned += 1;
    if (isIntegrationManaged(row)) {
      report.integrationManaged += 1;
      return;
    }
    const next: Columns = { password: row.password, appKey: row.appKey, appSecret: row.appSecret, totpSecret: row.totpSecret };
    let encrypted = 0;
    let reencrypted = 0;
    try {
      for (const column of CREDENTIAL_FIELDS) {
        const value = row[column];
        const context = { table: TABLE, column, row: row.userID };
        if (value.length === 0) continue; // an empty value stays visibly broken
        if (!isEncrypted(value)) {
          next[column] = encryptField(keyring, value, context);
          encrypted += 1;
        } else if (keyIdOf(value) !== keyring.current) {
          if (mode === 'rotate') {
            next[column] = encryptField(keyring, decryptField(keyring, value, context), context);
            reencrypted += 1;
          } else {
            report.valuesUnderOtherKeys += 1;
          }
        } else if (mode === 'rotate') {
          // Proves the value still opens: a tampered one is reported now, not at 03:00.
          decryptField(keyring, value, context);
        }
      }
    } catch (err) {
      if (!(err instanceof CredentialDecryptError)) throw err;
      report.failures.push({ userID: row.userID, reason: err.message });
      return;
    }
    if (encrypted + reencrypted === 0) return;

    await trx.updateTable('IIFLUser').set({ ...next, updatedAt: new Date() }).where('id', '=', id).execute();
    const mark = await trx
      .selectFrom('user_refresh_state')
      .select(['rejected_credentials_hash'])
      .where('user_id', '=', row.userID)
      .where('rejected_credentials_hash', 'is not', null)
      .executeTakeFirst();
    if (mark?.rejected_credentials_hash && matchesFingerprint(row, mark.rejected_credentials_hash)) {
      await trx
        .updateTable('user_refresh_state')
        .set({ rejected_credentials_hash: credentialsFingerprint(next), updated_at: new Date() })
        .where('user_id', '=', row.userID)
        .execute();
      report.marksCarried += 1;
    }
    report.usersRewritten += 1;
    report.valuesEncrypted += encrypted;
    report.valuesReencrypted += reencrypted;
  });
}

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
      if (isIntegrationManaged(row)) {
        status.integrationManaged += 1;
        continue;
      }
      let plain = 0;
      for (const column of CREDENTIAL_FIELDS) {
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
