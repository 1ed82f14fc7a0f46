import type { Kysely, Transaction } from 'kysely';
import { CREDENTIAL_FIELDS, isIntegrationManaged, type StoredCredentials } from '@refresher/contracts';
import { CredentialDecryptError, credentialsFingerprint, matchesFingerprint, type Keyring } from '@refresher/credential-crypto';
import type { Database } from '@refresher/db';
import { planRow, type ReencryptMode, type RowPlan } from './row-plan.ts';

export { TABLE, type ReencryptMode } from './row-plan.ts';

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

function emptyReport(mode: ReencryptMode, keyId: string): ReencryptReport {
  return {
    mode,
    keyId,
    usersScanned: 0,
    usersRewritten: 0,
    integrationManaged: 0,
    valuesEncrypted: 0,
    valuesReencrypted: 0,
    valuesUnderOtherKeys: 0,
    marksCarried: 0,
    failures: [],
  };
}

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
  const report = emptyReport(mode, keyring.current);
  const batchSize = options.batchSize ?? 200;
  let after = 0;
  for (;;) {
    const batch = await db.selectFrom('IIFLUser').select(['id']).where('id', '>', after).orderBy('id').limit(batchSize).execute();
    if (batch.length === 0) break;
    for (const { id } of batch) await db.transaction().execute((trx) => reencryptRow(trx, keyring, id, report));
    after = batch[batch.length - 1]!.id;
    options.onProgress?.(report);
  }
  return report;
}

/** One user, inside its transaction: reads the row locked, plans it, writes it and carries the mark. */
async function reencryptRow(trx: Transaction<Database>, keyring: Keyring, id: number, report: ReencryptReport): Promise<void> {
  const row = await trx
    .selectFrom('IIFLUser')
    .select(['userID', ...CREDENTIAL_FIELDS])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!row) return; // removed meanwhile
  report.usersScanned += 1;
  // Counted, and planned like any row: its marker columns stay, its other values are encrypted.
  if (isIntegrationManaged(row)) report.integrationManaged += 1;
  let plan: RowPlan;
  try {
    plan = planRow(keyring, report.mode, row.userID, row);
  } catch (err) {
    if (!(err instanceof CredentialDecryptError)) throw err;
    report.failures.push({ userID: row.userID, reason: err.message });
    return;
  }
  report.valuesUnderOtherKeys += plan.underOtherKeys;
  if (plan.encrypted + plan.reencrypted === 0) return;

  await trx
    .updateTable('IIFLUser')
    .set({ ...plan.next, updatedAt: new Date() })
    .where('id', '=', id)
    .execute();
  if (await carryRejectionMark(trx, row.userID, row, plan.next)) report.marksCarried += 1;
  report.usersRewritten += 1;
  report.valuesEncrypted += plan.encrypted;
  report.valuesReencrypted += plan.reencrypted;
}

/** Recomputes a "credentials rejected" mark taken of the old values for the new ones; stale marks stay as they are. */
async function carryRejectionMark(
  trx: Transaction<Database>,
  userID: string,
  before: StoredCredentials,
  after: StoredCredentials,
): Promise<boolean> {
  const mark = await trx
    .selectFrom('user_refresh_state')
    .select(['rejected_credentials_hash'])
    .where('user_id', '=', userID)
    .where('rejected_credentials_hash', 'is not', null)
    .executeTakeFirst();
  if (!mark?.rejected_credentials_hash || !matchesFingerprint(before, mark.rejected_credentials_hash)) return false;
  await trx
    .updateTable('user_refresh_state')
    .set({ rejected_credentials_hash: credentialsFingerprint(after), updated_at: new Date() })
    .where('user_id', '=', userID)
    .execute();
  return true;
}
